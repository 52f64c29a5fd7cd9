"""The store's read-only web page. It only calls the JSON API and puts article text into the
page as text (``textContent``), never as HTML."""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>newsdedup</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px;
         color: #1d2530; padding: 0 1rem; }
  h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 1.6rem; }
  .story { border: 1px solid #d6dbe3; border-radius: 6px; padding: .6rem .8rem; margin: .5rem 0;
           cursor: pointer; }
  .story:hover { background: #f4f7fb; }
  .terms span { background: #e7eefa; border-radius: 3px; padding: 0 .3rem; margin-right: .3rem;
                font-size: .85rem; }
  .meta { color: #5b6675; font-size: .85rem; }
  .coverage li { margin: .3rem 0; } a { color: #1f5fbf; cursor: pointer; }
  .pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; margin: 1rem 0 2rem; }
  .side { border: 1px solid #d6dbe3; border-radius: 6px; padding: .6rem .8rem; }
  .side h3 { font-size: .95rem; margin: 0 0 .4rem; }
  mark { background: #ffe08a; }
  .story h3 { font-size: 1rem; margin: 0 0 .2rem; }
  a.home { color: inherit; text-decoration: none; }
  a.url { font-size: .85rem; margin-left: .3rem; } #key { margin: 1rem 0; }
</style>
</head>
<body>
<h1><a href="/" class="home">newsdedup</a></h1>
<form id="key" hidden>
  <p>This store's read API needs a key (one of <code>NEWSDEDUP_READ_API_KEYS</code>). It is kept
  for this tab only, and sent as <code>Authorization: Bearer</code>.</p>
  <input type="password" name="key" placeholder="read API key" autocomplete="off" size="40">
  <button type="submit">Open</button> <span class="meta" id="key-error"></span>
</form>
<div id="article"></div>
<h2 id="stories-title">Recent stories</h2>
<div id="stories"></div>
<script>
const $ = (tag, text, cls) => { const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls;
  return e; };
// The read key: from /#key=<key> (the fragment never leaves the browser) or typed into the form,
// then kept in sessionStorage: for this tab only.
const fragmentKey = new URLSearchParams(location.hash.slice(1)).get("key");
if (fragmentKey) { sessionStorage.setItem("newsdedup-key", fragmentKey);
  history.replaceState(null, "", location.pathname + location.search); }
const key = () => sessionStorage.getItem("newsdedup-key");
class KeyNeeded extends Error {}
const api = async (path) => {
  const k = key();
  const r = await fetch(path, k ? { headers: { Authorization: "Bearer " + k } } : {});
  if (r.status === 401 || r.status === 403) throw new KeyNeeded(String(r.status));
  if (!r.ok) throw new Error(path + " " + r.status); return r.json(); };

// Times as ISO dates, in UTC: the same for every reader, whatever their locale.
const when = (iso) => new Date(iso).toISOString().slice(0, 16).replace("T", " ") + " UTC";
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const query = (name, value) => {
  const params = new URLSearchParams(); if (value) params.set(name, value);
  history.replaceState(null, "", location.pathname + (value ? "?" + params : "")); };

function askForKey(rejected) {
  const form = document.getElementById("key"); form.hidden = false;
  document.getElementById("key-error").textContent =
    rejected ? "That key was refused." : "";
  document.getElementById("stories-title").hidden = true;
  form.onsubmit = (e) => { e.preventDefault();
    sessionStorage.setItem("newsdedup-key", form.elements.key.value.trim());
    form.hidden = true; document.getElementById("stories-title").hidden = false; start(); };
}

async function showStories(open) {
  const box = document.getElementById("stories");
  const page = await api("stories?limit=30");
  box.replaceChildren();
  if (!page.items.length) box.append($("p", "No stories yet.", "meta"));
  for (const s of page.items) {
    const card = $("div", null, "story"); card.dataset.story = s.story_id;
    const terms = $("div", null, "terms");
    for (const t of s.top_terms) terms.append($("span", t));
    card.append($("h3", s.headline || s.story_id, "headline"),
      $("div", `${plural(s.articles, "article")} (${plural(s.duplicates, "duplicate")}) · ` +
        `${plural(s.outlets, "outlet")} · ${when(s.first_seen)} – ${when(s.last_seen)}`, "meta"),
      terms);
    card.onclick = () => showStory(card, s.story_id);
    box.append(card);
    if (s.story_id === open) showStory(card, s.story_id);
  }
}

async function showStory(card, id) {
  query("story", id);
  if (card.querySelector(".coverage")) return;
  const story = await api("stories/" + encodeURIComponent(id));
  const list = $("ul", null, "coverage");
  for (const a of story.coverage) {
    const item = $("li"); const link = $("a", a.headline || a.id, "article");
    link.onclick = (e) => { e.stopPropagation(); showArticle(a.id); };
    item.append(link, $("span", ` · ${a.source || "?"} · ${when(a.ingested_at)} · ` +
      `${plural(a.duplicates.length, "duplicate")} `, "meta"));
    if (a.url) { const out = $("a", "open ↗", "url"); out.href = a.url; out.target = "_blank";
      out.rel = "noopener noreferrer"; out.onclick = (e) => e.stopPropagation();
      item.append(out); }
    list.append(item);
  }
  card.append(list);
}

function side(s, label) {
  const box = $("div", null, "side");
  box.append($("div", label, "meta"),
    $("h3", `${s.headline || s.id} (${s.source || "?"}, ${s.status})`));
  const body = $("p");
  for (const seg of s.segments) {
    body.append(seg.changed ? $("mark", seg.text) : document.createTextNode(seg.text));
    body.append(document.createTextNode(" "));
  }
  box.append(body);
  return box;
}

async function showArticle(id) {
  query("article", id);
  const box = document.getElementById("article");
  const article = await api("articles/" + encodeURIComponent(id));
  const dups = await api("articles/" + encodeURIComponent(article.canonical_id) + "/duplicates");
  box.replaceChildren($("h2", article.headline || article.id),
    $("p", "Its duplicates, each beside the article it matched.", "meta"));
  if (!dups.duplicates.length) box.append($("p", "No duplicates.", "meta"));
  for (const d of dups.duplicates) {
    // Each duplicate beside the article it matched: the canonical one, or an earlier copy.
    const matched = d.matched_id || article.canonical_id;
    const pair = await api(`articles/${encodeURIComponent(matched)}/compare/` +
      encodeURIComponent(d.id));
    box.append($("div", `${d.reason}${d.measure ? " by " + d.measure : ""}` +
      `${d.similarity !== null ? " " + d.similarity.toFixed(2) : ""}`, "meta verdict"));
    const grid = $("div", null, "pair");
    grid.append(side(pair.left, "matched"), side(pair.right, "duplicate"));
    box.append(grid);
  }
}

async function start() {
  const params = new URLSearchParams(location.search);
  try {
    await showStories(params.get("story"));
    if (params.get("article")) await showArticle(params.get("article"));
  } catch (error) {
    if (error instanceof KeyNeeded) askForKey(Boolean(key())); else throw error;
  }
}
start();
</script>
</body>
</html>
"""
