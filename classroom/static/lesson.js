// The students' light page: one EventSource for the lesson's pushed state, one POST per guess. Every
// text goes in with textContent (never as HTML): the teacher's sentence is shown as typed, never run.
// The state comes from the server; the page keeps only its own guesses.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const code = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "").toUpperCase();
  const lang = new URLSearchParams(location.search).get("lang") === "ko" ? "ko" : "en";
  const api = `/class/api/${encodeURIComponent(code)}`;
  let words = {};
  let view = null; // the lesson as the server last pushed it
  let mine = {}; // step -> source piece index: this browser's guesses for (sentence, model, round)
  let mineKey = null;
  let picked = null; // the unit picked and not sent yet
  let choicesKey = null;
  let source = null;
  let sending = false;

  function say(key, values) {
    let text = words[key] || key;
    for (const [name, value] of Object.entries(values || {})) text = text.split(`{${name}}`).join(String(value));
    return text;
  }
  const put = (id, text) => { $(id).textContent = text; };
  const show = (id, on) => { $(id).hidden = !on; };

  // Korean particles after a word: 은/는, 을/를 by its last syllable's final consonant (ui.guessing.particle)
  function particle(word, kind) {
    if (lang !== "ko") return word;
    const pair = kind === "eun" ? ["은", "는"] : ["을", "를"];
    const last = word.trim().slice(-1);
    if (!(last >= "가" && last <= "힣")) return `${word}${pair[0]}(${pair[1]})`;
    return word + ((last.charCodeAt(0) - 0xac00) % 28 !== 0 ? pair[0] : pair[1]);
  }

  const keyOf = (v) => JSON.stringify([v.sentence, v.model, v.round]);
  function unitOf(piece) {
    let unit = 0;
    view.starts.forEach((start, u) => { if (start <= piece) unit = u; });
    return unit;
  }
  function problem(text) { put("problem", text || ""); show("problem", Boolean(text)); }
  function errorText(data) {
    const name = data && typeof data.error === "string" ? data.error : "";
    if (words[`hall.err.${name}`]) return say(`hall.err.${name}`);
    if (words[`lesson.err.${name}`]) return say(`lesson.err.${name}`);
    return say("hall.err.other", { message: (data && data.message) || name || "?" });
  }
  function nonce() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes); // (randomUUID needs https; a classroom server is plain http)
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function exploreLink() {
    const query = new URLSearchParams({ lang });
    if (view && view.sentence) {
      query.set("s", view.sentence);
      query.set("m", view.model);
      if (view.step) query.set("step", String(view.step));
    }
    query.set("lesson", code);
    $("explore").href = `/step_through?${query}`;
  }

  function drawChoices() {
    const key = JSON.stringify([view.step, view.labels, view.round, mineKey]);
    if (key === choicesKey) return;
    choicesKey = key;
    picked = null;
    const box = $("choices");
    box.replaceChildren();
    view.labels.forEach((label, u) => {
      const pill = document.createElement("button");
      pill.type = "button";
      pill.setAttribute("role", "radio");
      pill.setAttribute("aria-checked", "false");
      pill.dataset.unit = String(u);
      pill.textContent = `${u + 1}·${label}`;
      pill.addEventListener("click", () => { picked = u; render(); });
      box.append(pill);
    });
  }

  function drawBars(i) {
    const list = $("bars");
    list.replaceChildren();
    const yours = mine[i] !== undefined ? unitOf(mine[i]) : null;
    view.weights.forEach((weight, u) => {
      const item = document.createElement("li");
      if (u === view.top) item.classList.add("top");
      if (u === yours) item.classList.add("yours");
      const word = document.createElement("span");
      word.className = "word";
      word.textContent = view.labels[u];
      const track = document.createElement("span");
      track.className = "track";
      const fill = document.createElement("span");
      fill.className = "fill";
      fill.style.display = "block";
      fill.style.width = `${Math.max(0, Math.min(1, weight)) * 100}%`;
      track.append(fill);
      const value = document.createElement("span");
      value.className = "value";
      value.textContent = weight.toFixed(2);
      item.append(word, track, value);
      list.append(item);
    });
  }

  function render() {
    put("title", say("hall.title", { code }));
    document.title = say("hall.title", { code });
    exploreLink();
    if (!view) return;
    put("sentence", view.sentence || "");
    const started = view.step > 0 && !view.ended && Array.isArray(view.labels);
    show("wait", !view.ended && !started);
    show("ended", view.ended);
    if (view.ended) put("ended", say("hall.ended", { code }));
    show("step", started);
    if (!started) return;
    const i = view.step;
    const noun = say(`guess.noun.${view.unit === "piece" ? "piece" : "word"}`);
    const written = view.written === undefined ? null : view.written || say("guess.boundary");
    const asking = view.guess_first && view.attention;
    if (asking && written === null) put("ask", say("guess.ask_hidden", { i, unit: particle(noun, "eun") }));
    else if (asking) put("ask", say("guess.ask", { i, unit: particle(noun, "eun"), token: particle(written, "eul") }));
    else put("ask", written === null ? say("hall.wrote_hidden", { i }) : say("hall.wrote", { i, token: particle(written, "eul") }));
    show("so-far", view.so_far !== undefined);
    if (view.so_far !== undefined) put("so-far", `${say("guess.so_far")} ${view.so_far || "…"}`);
    show("no-attention", !view.attention);
    put("no-attention", say("guess.no_attention"));
    const guessed = mine[i] !== undefined;
    const open = asking && !view.revealed;
    show("guessing", open);
    if (open) {
      drawChoices();
      for (const pill of $("choices").children) {
        pill.setAttribute("aria-checked", String(Number(pill.dataset.unit) === picked));
      }
      put("pick-label", say("guess.pick"));
      put("go", say(guessed ? "guess.change" : "guess.go"));
      $("go").disabled = picked === null || sending;
    }
    show("mine", open && guessed);
    if (open && guessed) put("mine", say("guess.waiting", { i, token: view.labels[unitOf(mine[i])] }));
    const answer = view.revealed && Array.isArray(view.weights);
    show("answer", answer);
    show("mark", answer && asking && guessed);
    show("missed", answer && asking && !guessed);
    if (!answer) return;
    put("alpha-title", say("hall.alpha", { i }));
    drawBars(i);
    if (asking && guessed) {
      const u = unitOf(mine[i]);
      const rank = view.weights.filter((w) => w > view.weights[u]).length + 1;
      const verdict = rank === 1 ? say("guess.top") : say("guess.not_top", { rank, n: view.weights.length });
      put("mark", say("guess.result", { i, token: view.labels[u], alpha: view.weights[u].toFixed(2), verdict }));
    } else if (asking) put("missed", say("guess.missed", { i }));
  }

  async function send() {
    if (picked === null || !view || sending) return;
    const i = view.step;
    const body = { step: i, token: view.starts[picked], round: view.round, nonce: nonce() };
    sending = true;
    render();
    try {
      const response = await fetch(`${api}/guess`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
        credentials: "same-origin",
      });
      const data = await response.json().catch(() => ({}));
      if (response.ok) {
        mine[i] = body.token;
        picked = null;
        problem(null);
      } else problem(errorText(data));
    } catch (error) {
      problem(say("hall.err.network"));
    }
    sending = false;
    render();
  }

  function connect() {
    source = new EventSource(`${api}/events`);
    source.addEventListener("open", () => put("status", say("hall.following")));
    source.addEventListener("mine", (e) => {
      const data = JSON.parse(e.data);
      mineKey = keyOf(data);
      mine = {};
      for (const [step, token] of Object.entries(data.guesses)) mine[Number(step)] = token;
      choicesKey = null;
    });
    source.addEventListener("state", (e) => {
      view = JSON.parse(e.data);
      if (keyOf(view) !== mineKey) { mineKey = keyOf(view); mine = {}; }
      if (view.ended) { source.close(); source = null; put("status", ""); }
      render();
    });
    source.addEventListener("gone", () => {
      source.close();
      source = null;
      view = null;
      problem(say("lesson.err.no_lesson"));
    });
    source.onerror = () => {
      if (source && source.readyState === EventSource.CLOSED) { source = null; setTimeout(check, 2000); }
      put("status", say("hall.reconnecting"));
    };
  }

  // The server refused the stream (an unknown lesson) or answered with an error while restarting:
  // say why when it says, and try again (EventSource retries a dropped connection by itself)
  async function check() {
    try {
      const response = await fetch(api, { credentials: "same-origin" });
      if (!response.ok) { problem(errorText(await response.json().catch(() => ({})))); setTimeout(check, 10000); return; }
      problem(null);
    } catch (error) { setTimeout(check, 2000); return; }
    connect();
  }

  async function start() {
    $("language").href = `${location.pathname}?lang=${lang === "ko" ? "en" : "ko"}`;
    document.documentElement.lang = lang;
    try {
      const response = await fetch(`/class/api/strings?lang=${lang}`);
      words = (await response.json()).strings || {};
    } catch (error) { words = {}; }
    put("language", say("hall.language"));
    put("status", say("hall.connecting"));
    put("wait", say("lesson.wait_start"));
    put("explore", say("lesson.explore"));
    put("explore-help", say("hall.explore_help"));
    $("go").addEventListener("click", send);
    render();
    connect();
  }
  start();
})();
