// Server-Sent Events over fetch(): EventSource cannot send the Authorization header.
// Reconnects after the server's retry delay and resumes with Last-Event-ID.

export async function streamEvents({ url, token, onEvent, onOpen, onDown, onDenied, signal }) {
  let lastEventId = null;
  let retryMs = 3000;
  while (!signal.aborted) {
    try {
      const headers = { Authorization: `Bearer ${token}`, Accept: "text/event-stream" };
      if (lastEventId !== null) headers["Last-Event-ID"] = lastEventId;
      const response = await fetch(url, { headers, signal, cache: "no-store" });
      if (response.status === 401) {
        onDenied();
        return;
      }
      if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
      onOpen(lastEventId !== null);
      const frames = parseFrames(response.body.pipeThrough(new TextDecoderStream()));
      for await (const frame of frames) {
        if (frame.retry !== undefined) retryMs = frame.retry;
        if (frame.id !== undefined) lastEventId = frame.id;
        if (frame.data !== undefined) onEvent(frame);
      }
    } catch (error) {
      if (signal.aborted) return;
    }
    onDown();
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

// The SSE wire format: fields up to a blank line make one frame; ":" lines are comments.
async function* parseFrames(stream) {
  const reader = stream.getReader();
  let buffer = "";
  let frame = {};
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (Object.keys(frame).length) yield frame;
        frame = {};
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "data") frame.data = frame.data === undefined ? text : `${frame.data}\n${text}`;
      else if (field === "event") frame.event = text;
      else if (field === "id" && !text.includes("\0")) frame.id = text;
      else if (field === "retry" && /^\d+$/.test(text)) frame.retry = Number(text);
    }
  }
}
