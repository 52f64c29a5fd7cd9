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
</style>
</head>
<body>
<h1>newsdedup</h1>
<div id="article"></div>
<h2>Recent stories</h2>
<div id="stories"></div>
<script>
const $ = (tag, text, cls) => { const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = text; if (cls) e.className = cls;
  return e; };
// With read API keys set, open the page as /#key=<key>: the fragment never leaves the browser.
const key = new URLSearchParams(location.hash.slice(1)).get("key");
const api = async (path) => {
  const r = await fetch(path, key ? { headers: { Authorization: "Bearer " + key } } : {});
  if (!r.ok) throw new Error(path + " " + r.status); return r.json(); };

async function showStories() {
  const box = document.getElementById("stories");
  const page = await api("stories?limit=30");
  box.replaceChildren();
  if (!page.items.length) box.append($("p", "No stories yet.", "meta"));
  for (const s of page.items) {
    const card = $("div", null, "story"); card.dataset.story = s.story_id;
    const terms = $("div", null, "terms");
    for (const t of s.top_terms) terms.append($("span", t));
    const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
    card.append(terms, $("div", `${plural(s.articles, "article")}, ` +
      `${plural(s.duplicates, "duplicate")} · ` +
      `${new Date(s.first_seen).toLocaleString()} – ${new Date(s.last_seen).toLocaleString()}`,
      "meta"));
    card.onclick = () => showStory(card, s.story_id);
    box.append(card);
  }
}

async function showStory(card, id) {
  if (card.querySelector(".coverage")) return;
  const story = await api("stories/" + encodeURIComponent(id));
  const list = $("ul", null, "coverage");
  for (const a of story.coverage) {
    const item = $("li"); const link = $("a", a.title || a.id);
    link.onclick = (e) => { e.stopPropagation(); showArticle(a.id); };
    item.append(link, $("span", ` · ${a.source || "?"} · ${a.duplicates.length} duplicates`,
      "meta"));
    list.append(item);
  }
  card.append(list);
}

function side(s) {
  const box = $("div", null, "side");
  box.append($("h3", `${s.title || s.id} (${s.source || "?"}, ${s.status})`));
  const body = $("p");
  for (const seg of s.segments) {
    body.append(seg.changed ? $("mark", seg.text) : document.createTextNode(seg.text));
    body.append(document.createTextNode(" "));
  }
  box.append(body);
  return box;
}

async function showArticle(id) {
  history.replaceState(null, "", "?article=" + encodeURIComponent(id) + location.hash);
  const box = document.getElementById("article");
  const article = await api("articles/" + encodeURIComponent(id));
  const dups = await api("articles/" + encodeURIComponent(article.canonical_id) + "/duplicates");
  box.replaceChildren($("h2", `${article.title || article.id}: its duplicates side by side`));
  if (!dups.duplicates.length) box.append($("p", "No duplicates.", "meta"));
  for (const d of dups.duplicates) {
    const pair = await api(`articles/${encodeURIComponent(article.canonical_id)}/compare/` +
      encodeURIComponent(d.id));
    box.append($("div", `${d.reason}${d.measure ? " by " + d.measure : ""}` +
      `${d.similarity !== null ? " " + d.similarity : ""}`, "meta"));
    const grid = $("div", null, "pair"); grid.append(side(pair.left), side(pair.right));
    box.append(grid);
  }
}

showStories();
const wanted = new URLSearchParams(location.search).get("article");
if (wanted) showArticle(wanted);
</script>
</body>
</html>
"""
