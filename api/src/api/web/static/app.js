// The enterprise page: sign in, open alerts live, acknowledging, production output.
import { alertCard, chartWindow, figuresOf } from "./alerts.js";
import { ApiError, call } from "./api.js";
import { STRINGS } from "./i18n.js";
import { streamEvents } from "./sse.js";

const TOKEN_KEY = "lantian.token";
const LANG_KEY = "lantian.lang";
const OPEN_STATES = ["pending", "firing", "acknowledged"];
const RESPONDERS = ["enterprise_user", "bureau_admin"];
const TIME_ZONE = "Asia/Shanghai"; // the city's local time

const $ = (id) => document.getElementById(id);
const page = {
  lang: localStorage.getItem(LANG_KEY) === "en" ? "en" : "zh",
  token: sessionStorage.getItem(TOKEN_KEY),
  me: null,
  alerts: new Map(), // id -> alert detail
  readings: new Map(), // id -> [{ts, value}]
  stream: null,
};

const t = () => STRINGS[page.lang];

function format() {
  const locale = page.lang === "zh" ? "zh-CN" : "en-GB";
  const time = new Intl.DateTimeFormat(locale, { timeZone: TIME_ZONE, dateStyle: "short", timeStyle: "short" });
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 3 });
  return { time: (ms) => time.format(new Date(ms)), number: (v) => number.format(v) };
}

function translateStatic() {
  document.documentElement.lang = page.lang === "zh" ? "zh-CN" : "en";
  document.title = t().title;
  for (const element of document.querySelectorAll("[data-i18n]")) {
    element.textContent = t()[element.dataset.i18n];
  }
  $("lang").value = page.lang;
}

function showWho() {
  const me = page.me;
  $("who").textContent = me ? (me.enterprise ? `${me.name} · ${me.enterprise}` : me.name) : "";
}

function show(signedIn) {
  $("sign-in-view").hidden = signedIn;
  $("main-view").hidden = !signedIn;
  $("sign-out").hidden = !signedIn;
  $("production-view").hidden = !(signedIn && page.me && page.me.enterprise);
  showWho();
}

// --- alerts ---------------------------------------------------------------------------

function renderAlert(id) {
  const list = $("alerts");
  const old = list.querySelector(`li[data-alert-id="${id}"]`);
  const alert = page.alerts.get(id);
  if (!alert) {
    if (old) old.remove();
  } else {
    const card = alertCard(alert, page.readings.get(id) ?? null, {
      t: t(), format: format(), canAcknowledge: RESPONDERS.includes(page.me.role), onAcknowledge: acknowledge,
    });
    if (old) {
      const restore = draftOf(old);
      old.replaceWith(card);
      restore(card);
    } else {
      placeNewest(list, card, id);
    }
  }
  $("no-alerts").hidden = page.alerts.size > 0;
}

// A card is rebuilt when its alert or readings change: a comment being typed survives that.
function draftOf(old) {
  const typed = old.querySelector("textarea[name=comment]");
  if (!typed) return () => {};
  const { value, selectionStart, selectionEnd } = typed;
  const focused = document.activeElement === typed;
  return (card) => {
    const fresh = card.querySelector("textarea[name=comment]");
    if (!fresh) return;
    fresh.value = value;
    if (focused) {
      fresh.focus();
      fresh.setSelectionRange(selectionStart, selectionEnd);
    }
  };
}

function placeNewest(list, card, id) {
  const later = [...list.children].find((item) => Number(item.dataset.alertId) < id);
  list.insertBefore(card, later ?? null);
}

function renderAlerts() {
  $("alerts").replaceChildren();
  for (const id of [...page.alerts.keys()].sort((a, b) => b - a)) renderAlert(id);
  $("no-alerts").hidden = page.alerts.size > 0;
}

async function loadReadings(alert) {
  const figures = figuresOf(alert);
  if (!alert.site || !figures.metric) {
    page.readings.set(alert.id, []);
    return;
  }
  const [start, end] = chartWindow(figures);
  const query = new URLSearchParams({
    metric: figures.metric, start: new Date(start).toISOString(), end: new Date(end).toISOString(),
  });
  if (alert.device) query.set("device", alert.device);
  const site = encodeURIComponent(alert.site);
  const answer = await call(page.token, `/v1/sites/${site}/readings?${query}`);
  page.readings.set(alert.id, answer.readings.map((r) => ({ ts: r.ts, value: r.value })));
}

// Fetch one alert again; it leaves the list when it is no longer open.
async function refreshAlert(id) {
  const alert = await call(page.token, `/v1/alerts/${id}`);
  if (!OPEN_STATES.includes(alert.state)) {
    page.alerts.delete(id);
    renderAlert(id);
    return;
  }
  const known = page.alerts.has(id);
  page.alerts.set(id, alert);
  renderAlert(id);
  if (!known || !page.readings.get(id)?.length) {
    try {
      await loadReadings(alert);
    } catch (error) {
      page.readings.set(id, []);
    }
    renderAlert(id);
  }
}

async function loadAlerts() {
  $("alerts-error").textContent = "";
  try {
    const pages = await Promise.all(
      OPEN_STATES.map((state) => call(page.token, `/v1/alerts?state=${state}&limit=200`)),
    );
    const ids = pages.flatMap((answer) => answer.items.map((item) => item.id));
    for (const id of [...page.alerts.keys()].filter((known) => !ids.includes(known))) {
      page.alerts.delete(id); // closed while the page was not listening
      renderAlert(id);
    }
    await Promise.all(ids.map((id) => refreshAlert(id)));
  } catch (error) {
    failed(error, $("alerts-error"));
  }
}

async function acknowledge(id, comment) {
  await call(page.token, `/v1/alerts/${id}/acknowledge`, { method: "POST", json: { comment } });
  await refreshAlert(id);
}

function startStream() {
  const controller = new AbortController();
  page.stream = controller;
  streamEvents({
    url: "/v1/alerts/events",
    token: page.token,
    signal: controller.signal,
    onOpen: (resumed) => {
      $("stream-state").textContent = t().streamLive;
      $("stream-state").dataset.live = "true";
      // A stream without Last-Event-ID starts at the newest event: load the list after it
      // is open, so nothing opened in between is missed.
      if (!resumed) loadAlerts();
    },
    onDown: () => {
      $("stream-state").textContent = t().streamDown;
      $("stream-state").dataset.live = "false";
    },
    onDenied: () => signOut(),
    onEvent: (frame) => {
      const event = JSON.parse(frame.data);
      refreshAlert(event.alert_id).catch((error) => failed(error, $("alerts-error")));
    },
  });
}

// --- production output --------------------------------------------------------------------

async function submitProduction(event) {
  event.preventDefault();
  const form = event.target;
  $("production-result").textContent = "";
  $("production-error").textContent = "";
  const period = form.period.value;
  let start = form.period_start.value;
  if (period === "month" && /^\d{4}-\d{2}$/.test(start)) start = `${start}-01`;
  const body = {
    period,
    period_start: start,
    quantity: form.quantity.value === "" ? null : Number(form.quantity.value),
    unit: form.unit.value,
    comment: form.comment.value,
  };
  try {
    const enterprise = encodeURIComponent(page.me.enterprise);
    const answer = await call(page.token, `/v1/enterprises/${enterprise}/production`, { method: "POST", json: body });
    const figure = answer.figure;
    $("production-result").textContent =
      `${t()[answer.outcome]}: ${figure.period_start} ${format().number(figure.quantity)} ${figure.unit}`;
  } catch (error) {
    failed(error, $("production-error"));
  }
}

function periodChanged() {
  const input = $("production").period_start;
  input.value = "";
  input.type = $("production").period.value === "month" ? "month" : "date";
}

// --- signing in and out -----------------------------------------------------------------

function failed(error, where) {
  if (error instanceof ApiError && error.status === 401) {
    signOut();
    return;
  }
  where.textContent = error.message || t().failed;
}

async function enter() {
  try {
    page.me = await call(page.token, "/v1/auth/me");
  } catch (error) {
    signOut();
    return;
  }
  show(true);
  startStream();
}

async function signIn(event) {
  event.preventDefault();
  const form = event.target;
  $("sign-in-error").textContent = "";
  try {
    const answer = await call(null, "/v1/auth/token", {
      method: "POST", form: { username: form.username.value, password: form.password.value },
    });
    page.token = answer.access_token;
    sessionStorage.setItem(TOKEN_KEY, page.token);
    form.password.value = "";
    await enter();
  } catch (error) {
    $("sign-in-error").textContent = error instanceof ApiError && error.status === 400 ? t().signInFailed : t().failed;
  }
}

function signOut() {
  if (page.stream) page.stream.abort();
  page.stream = null;
  page.token = null;
  page.me = null;
  page.alerts.clear();
  page.readings.clear();
  sessionStorage.removeItem(TOKEN_KEY);
  $("alerts").replaceChildren();
  $("stream-state").textContent = "";
  show(false);
}

function setLanguage() {
  page.lang = $("lang").value === "en" ? "en" : "zh";
  localStorage.setItem(LANG_KEY, page.lang);
  translateStatic();
  if (page.stream) $("stream-state").textContent = $("stream-state").dataset.live === "true" ? t().streamLive : t().streamDown;
  renderAlerts();
}

translateStatic();
$("lang").addEventListener("change", setLanguage);
$("sign-in").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", signOut);
$("production").addEventListener("submit", submitProduction);
$("production").period.addEventListener("change", periodChanged);
if (page.token) enter();
else show(false);
