// The user page: the suggestions of the movie field follow what the person types (any movie
// of the catalogue, by the words of its title), and the user's lists refresh while the
// streaming job updates them (every 2 s; recommendations that follow a rating made here
// appear without a reload).
(function () {
  "use strict";
  const user = window.MOVIELENS_USER;
  let updatedAt = document.getElementById("updated-at").textContent.trim();

  function cell(text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }

  // classes: the class of each column's cells, where it has one
  function fill(tableId, rows, cells, classes = []) {
    const body = document.querySelector("#" + tableId + " tbody");
    const before = new Set(Array.from(body.rows, (tr) => tr.dataset.movieId));
    body.replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.movieId = row.movie_id;
      cells(row).forEach((text, i) => tr.appendChild(cell(text, classes[i])));
      if (!before.has(String(row.movie_id))) tr.classList.add("changed");
      return tr;
    }));
  }

  async function refresh() {
    try {
      const response = await fetch("/api/users/" + user, { cache: "no-store" });
      if (!response.ok) return;
      const data = await response.json();
      const stamp = data.updated_at || "never";
      document.getElementById("unknown").hidden = data.known;
      document.getElementById("rated-count").textContent = data.rated.length;
      fill("rated", data.rated, (r) => [r.title, r.genres, r.rating]);
      if (stamp !== updatedAt) {
        updatedAt = stamp;
        document.getElementById("updated-at").textContent = stamp;
        document.getElementById("model-version").textContent = data.model_version || "–";
        fill("recommendations", data.recommendations, (r) => [
          r.rank, r.title, r.genres,
          r.because.map((m) => m.title).join("; ") || "(popular)",
          r.stars != null ? "★ " + r.stars.toFixed(1) : r.score.toFixed(3)],
          [null, null, null, "because"]);
      }
    } catch (err) {
      // the server is restarting or the network is down: try again on the next tick
    }
  }

  const field = document.getElementById("movie");
  const choices = document.getElementById("movie-choices");
  let asked = null;
  let pending = null;

  async function suggest() {
    const typed = field.value.trim();
    // a choice already made ("Title (1999) #42") or the same words again: nothing to ask
    if (typed === asked || /#\d+$/.test(typed)) return;
    asked = typed;
    try {
      const query = new URLSearchParams({ q: typed, user: user });
      const response = await fetch("/api/movies?" + query, { cache: "no-store" });
      if (!response.ok || field.value.trim() !== typed) return;
      const movies = await response.json();
      choices.replaceChildren(...movies.map((m) => {
        const option = document.createElement("option");
        option.value = m.title + " #" + m.movie_id;
        return option;
      }));
    } catch (err) {
      asked = null; // ask again on the next key
    }
  }

  field.addEventListener("input", () => {
    clearTimeout(pending);
    pending = setTimeout(suggest, 150);
  });
  setInterval(refresh, 2000);
})();
