// A small inline SVG chart of readings: the line, its points, the limit and the episode.
const SVG = "http://www.w3.org/2000/svg";
const W = 480;
const H = 160;
const PAD = { left: 44, right: 8, top: 8, bottom: 20 };

function node(name, attributes, parent) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (parent) parent.appendChild(element);
  return element;
}

// readings: [{ts, value}], limit: number|null, episode: [startMs, endMs], label: title text.
export function drawChart(readings, { limit, episode, label, format }) {
  const svg = node("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img" });
  node("title", {}, svg).textContent = label;
  const times = readings.map((r) => r.ts);
  const values = readings.map((r) => r.value);
  if (Number.isFinite(limit)) values.push(limit);
  const t0 = Math.min(...times, episode[0]);
  const t1 = Math.max(...times, episode[1], t0 + 1);
  let v0 = Math.min(...values);
  let v1 = Math.max(...values);
  if (v0 === v1) { v0 -= 1; v1 += 1; }
  const margin = (v1 - v0) * 0.08;
  v0 -= margin;
  v1 += margin;
  const x = (t) => PAD.left + ((t - t0) / (t1 - t0)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - ((v - v0) / (v1 - v0)) * (H - PAD.top - PAD.bottom);
  node("rect", {
    class: "episode", x: x(episode[0]), y: PAD.top,
    width: Math.max(1, x(episode[1]) - x(episode[0])), height: H - PAD.top - PAD.bottom,
  }, svg);
  if (Number.isFinite(limit)) {
    node("line", { class: "limit", x1: PAD.left, x2: W - PAD.right, y1: y(limit), y2: y(limit) }, svg);
  }
  const path = readings.map((r) => `${x(r.ts).toFixed(1)},${y(r.value).toFixed(1)}`).join(" ");
  node("polyline", { class: "line", points: path }, svg);
  for (const r of readings) {
    const point = node("circle", { class: "point", cx: x(r.ts), cy: y(r.value), r: 2 }, svg);
    node("title", {}, point).textContent = `${format.time(r.ts)}: ${format.number(r.value)}`;
  }
  node("text", { x: 2, y: PAD.top + 8 }, svg).textContent = format.number(v1);
  node("text", { x: 2, y: H - PAD.bottom }, svg).textContent = format.number(v0);
  node("text", { x: PAD.left, y: H - 4 }, svg).textContent = format.time(t0);
  node("text", { x: W - PAD.right, y: H - 4, "text-anchor": "end" }, svg).textContent = format.time(t1);
  return svg;
}
