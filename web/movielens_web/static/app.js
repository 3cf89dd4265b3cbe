// Refresh the user's lists while the streaming job updates them (every 2 s; the page
// needs no reload to show recommendations that follow a rating made here).
(function () {
  "use strict";
  const user = window.MOVIELENS_USER;
  let updatedAt = document.getElementById("updated-at").textContent.trim();

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function fill(tableId, rows, cells) {
    const body = document.querySelector("#" + tableId + " tbody");
    const before = new Set(Array.from(body.rows, (tr) => tr.dataset.movieId));
    body.replaceChildren(...rows.map((row) => {
      const tr = document.createElement("tr");
      tr.dataset.movieId = row.movie_id;
      cells(row).forEach((text) => tr.appendChild(cell(text)));
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
        fill("recommendations", data.recommendations,
          (r) => [r.rank, r.title, r.genres, r.score.toFixed(3)]);
      }
    } catch (err) {
      // the server is restarting or the network is down: try again on the next tick
    }
  }

  setInterval(refresh, 2000);
})();
