// One open alert as a card: what fired, the value against the limit, a chart, acknowledging.
import { drawChart } from "./chart.js";

const CHART_MARGIN_MS = 30 * 60 * 1000;

function el(name, className, text) {
  const element = document.createElement(name);
  if (className) element.className = className;
  if (text !== undefined && text !== null) element.textContent = String(text);
  return element;
}

// The latest result's figures (docs/alerts.md "Evidence"), else the alert's own columns.
export function figuresOf(alert) {
  const evidence = alert.evidence || {};
  const inner = evidence.evidence || {};
  const trigger = (alert.trigger && alert.trigger.evidence) || {};
  const end = Date.parse(evidence.window_end || alert.last_window_start);
  return {
    value: evidence.value ?? alert.value,
    limit: evidence.limit ?? alert.limit,
    standard: evidence.standard ?? alert.standard,
    metric: inner.metric ?? trigger.metric ?? null,
    episode: [Date.parse(alert.window_start), Math.max(end, Date.parse(alert.last_window_start))],
  };
}

export function chartWindow(figures) {
  return [figures.episode[0] - CHART_MARGIN_MS, figures.episode[1] + CHART_MARGIN_MS];
}

// alert: the API's alert detail; readings: [{ts, value}] or null while loading.
export function alertCard(alert, readings, { t, format, canAcknowledge, onAcknowledge }) {
  const figures = figuresOf(alert);
  const card = el("li", "alert card");
  card.dataset.alertId = String(alert.id);
  card.dataset.state = alert.state;
  const head = el("h3");
  head.append(
    el("span", `severity severity-${alert.severity}`, t.severities[alert.severity] || alert.severity),
    el("span", "rule", alert.rule),
  );
  card.append(head);
  const fields = el("dl");
  const since = alert.fired_at || alert.opened_at;
  const limit = figures.limit === null || figures.limit === undefined
    ? "—"
    : `${format.number(figures.limit)}${figures.standard ? ` (${figures.standard})` : ""}`;
  const rows = [
    ["site", alert.site || "—"],
    ["since", format.time(Date.parse(since))],
    ["value", figures.value === null || figures.value === undefined ? "—" : format.number(figures.value)],
    ["limit", limit],
    ["state", t.states[alert.state] || alert.state],
  ];
  if (alert.acknowledged_by) rows.push(["acknowledgedBy", alert.acknowledged_by]);
  for (const [key, value] of rows) {
    fields.append(el("dt", null, t[key]), el("dd", key === "state" ? `field-state state-${alert.state}` : `field-${key}`, value));
  }
  card.append(fields);
  const chart = el("figure", "chart-box");
  if (readings && readings.length) {
    chart.append(drawChart(readings, {
      limit: figures.limit, episode: figures.episode, label: `${t.chart}: ${figures.metric}`, format,
    }));
  } else if (readings) {
    chart.append(el("p", "muted", t.noReadings));
  }
  card.append(chart);
  if (canAcknowledge && alert.state !== "acknowledged") card.append(ackForm(alert, t, onAcknowledge));
  return card;
}

function ackForm(alert, t, onAcknowledge) {
  const form = el("form", "ack");
  const label = el("label", null);
  const comment = el("textarea");
  comment.name = "comment";
  comment.required = true;
  label.append(el("span", null, t.comment), comment);
  const button = el("button", null, t.acknowledge);
  button.type = "submit";
  const error = el("p", "error");
  error.setAttribute("role", "alert");
  form.append(label, button, error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = comment.value.trim();
    if (!text) {
      error.textContent = t.commentRequired;
      return;
    }
    button.disabled = true;
    try {
      await onAcknowledge(alert.id, text);
    } catch (failure) {
      error.textContent = failure.message || t.failed;
      button.disabled = false;
    }
  });
  return form;
}
