/// The live dashboard served at `GET /admin` on the API listener: one self-contained page (no CDN, no
/// build step). It holds no data: it asks for an API key, keeps it in the tab's `sessionStorage`, and
/// every second reads `GET /admin/overview` and `GET /admin/metrics` with `X-API-Key`, turning the
/// counters into per-second rates and a two-minute chart.
enum AdminPage {
    /// The page's bytes.
    static let html: [UInt8] = Array(text.utf8)

    private static let text = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>GoDispatch · dashboard</title>
        <style>
          :root { --bg:#0f1420; --panel:#171e2e; --line:#26304a; --text:#e6eaf2; --dim:#8d97ad; --in:#4cc2ff; --out:#7ee787;
                  --conn:#f5a524; --err:#ff6b6b; }
          * { box-sizing: border-box; }
          body { margin:0; background:var(--bg); color:var(--text); font:14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
          header { display:flex; align-items:center; gap:16px; padding:14px 24px; border-bottom:1px solid var(--line); }
          header h1 { font-size:18px; margin:0; letter-spacing:.3px; }
          header h1 span { color:var(--in); }
          #node { color:var(--dim); font-size:13px; }
          #status { margin-left:auto; font-size:12px; padding:3px 10px; border-radius:999px; background:#23304d; color:var(--dim); }
          #status.live { background:#143d2a; color:var(--out); }
          #status.down { background:#4a1d24; color:var(--err); }
          main { padding:20px 24px 40px; display:grid; gap:16px; grid-template-columns: repeat(12, 1fr); }
          .panel { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:14px 16px; }
          .stat { grid-column: span 2; }
          .stat .label { color:var(--dim); font-size:12px; text-transform:uppercase; letter-spacing:.6px; }
          .stat .value { font-size:28px; font-weight:600; margin-top:4px; font-variant-numeric: tabular-nums; }
          .chart { grid-column: span 8; }
          .side { grid-column: span 4; }
          .half { grid-column: span 6; }
          .full { grid-column: span 12; }
          h2 { font-size:13px; margin:0 0 10px; color:var(--dim); text-transform:uppercase; letter-spacing:.6px; font-weight:600; }
          canvas { width:100%; height:220px; display:block; }
          .legend { display:flex; gap:16px; font-size:12px; color:var(--dim); margin-top:6px; }
          .legend i { display:inline-block; width:10px; height:10px; border-radius:2px; margin-right:6px; vertical-align:-1px; }
          table { width:100%; border-collapse:collapse; font-size:13px; }
          th, td { text-align:left; padding:6px 4px; border-bottom:1px solid var(--line); }
          th { color:var(--dim); font-weight:500; }
          td.num, th.num { text-align:right; font-variant-numeric: tabular-nums; }
          .tag { display:inline-block; background:#22304d; border-radius:6px; padding:1px 7px; margin:2px 4px 2px 0; font-size:12px; }
          .empty { color:var(--dim); font-style:italic; }
          .plugin { margin-bottom:10px; }
          .plugin b { font-weight:600; }
          .plugin small { color:var(--dim); }
          #login { max-width:420px; margin:12vh auto; }
          #login input { width:100%; padding:10px; border-radius:8px; border:1px solid var(--line); background:#0c111b; color:var(--text); font-size:14px; }
          #login button { margin-top:12px; padding:9px 16px; border:0; border-radius:8px; background:var(--in); color:#03111d; font-weight:600; cursor:pointer; }
          #login .error { color:var(--err); margin-top:10px; min-height:1.4em; }
          @media (max-width: 1100px) { .stat { grid-column: span 4; } .chart, .side, .half { grid-column: span 12; } }
        </style>
        </head>
        <body>
        <header>
          <h1>Go<span>Dispatch</span> dashboard</h1>
          <div id="node">–</div>
          <div id="status">connecting…</div>
        </header>

        <section id="login" class="panel" hidden>
          <h2>API key</h2>
          <p>This dashboard reads the server through the backend API. Enter one of the keys of <code>api.keys</code>;
             it stays in this tab only.</p>
          <form id="login-form">
            <input id="key" type="password" autocomplete="off" placeholder="X-API-Key" required>
            <button type="submit">Open dashboard</button>
            <div class="error" id="login-error"></div>
          </form>
        </section>

        <main id="dashboard" hidden>
          <div class="panel stat"><div class="label">Connections</div><div class="value" id="connections">–</div></div>
          <div class="panel stat"><div class="label">Users</div><div class="value" id="users">–</div></div>
          <div class="panel stat"><div class="label">Rooms</div><div class="value" id="rooms">–</div></div>
          <div class="panel stat"><div class="label">Messages in /s</div><div class="value" id="in-rate">–</div></div>
          <div class="panel stat"><div class="label">Frames out /s</div><div class="value" id="out-rate">–</div></div>
          <div class="panel stat"><div class="label">Errors /s</div><div class="value" id="error-rate">–</div></div>

          <div class="panel chart">
            <h2>Traffic · last two minutes</h2>
            <canvas id="traffic"></canvas>
            <div class="legend"><span><i style="background:var(--in)"></i>messages in /s</span>
              <span><i style="background:var(--out)"></i>frames out /s</span>
              <span><i style="background:var(--conn)"></i>connections</span>
              <span><i style="background:var(--err)"></i>errors /s</span></div>
          </div>
          <div class="panel side">
            <h2>Largest rooms</h2>
            <table><thead><tr><th>room</th><th class="num">members</th></tr></thead><tbody id="largest-rooms"></tbody></table>
          </div>

          <div class="panel half">
            <h2>Errors by code</h2>
            <table><thead><tr><th>code</th><th class="num">total</th><th class="num">/s</th></tr></thead><tbody id="errors"></tbody></table>
          </div>
          <div class="panel half">
            <h2>Nodes</h2>
            <table><thead><tr><th>name</th><th>version</th><th class="num">uptime</th><th class="num">clients</th><th class="num">users</th></tr></thead>
              <tbody id="nodes"></tbody></table>
          </div>

          <div class="panel half">
            <h2>Plugins and their actions</h2>
            <div id="plugins"></div>
          </div>
          <div class="panel half">
            <h2>Events in the configuration</h2>
            <div id="events"></div>
            <h2 style="margin-top:14px">Server events</h2>
            <div id="server-events"></div>
          </div>
        </main>

        <script>
        "use strict";
        const KEY = "godispatch.admin.key";
        const WINDOW = 120;
        const series = [];
        let previous = null;
        let timer = null;

        const $ = (id) => document.getElementById(id);
        const text = (value) => document.createTextNode(String(value));
        function element(tag, attributes, ...children) {
          const node = document.createElement(tag);
          for (const [name, value] of Object.entries(attributes || {})) node.setAttribute(name, value);
          for (const child of children) node.append(child instanceof Node ? child : text(child));
          return node;
        }
        function fill(id, rows, empty) {
          const target = $(id);
          target.replaceChildren(...(rows.length ? rows : [empty]));
        }
        const number = (n) => Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "–";
        const rate = (n) => Number.isFinite(n) ? (n < 10 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US")) : "–";
        function duration(seconds) {
          const d = Math.floor(seconds / 86400), h = Math.floor(seconds % 86400 / 3600), m = Math.floor(seconds % 3600 / 60);
          return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : `${m}m ${seconds % 60}s`;
        }

        // Prometheus text format: `name{label="value",…} number`, comments skipped.
        function parseMetrics(body) {
          const samples = [];
          for (const line of body.split("\n")) {
            if (!line || line.startsWith("#")) continue;
            const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
            if (!match) continue;
            const labels = {};
            for (const pair of (match[2] || "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
              labels[pair[1]] = pair[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
            }
            samples.push({ name: match[1], labels, value: Number(match[3]) });
          }
          return samples;
        }
        const total = (samples, name) => samples.filter((s) => s.name === name).reduce((sum, s) => sum + s.value, 0);
        function byLabel(samples, name, label) {
          const out = {};
          for (const s of samples) if (s.name === name) out[s.labels[label]] = (out[s.labels[label]] || 0) + s.value;
          return out;
        }

        async function get(path) {
          const response = await fetch(path, { headers: { "X-API-Key": sessionStorage.getItem(KEY) || "" }, cache: "no-store" });
          if (response.status === 401) throw Object.assign(new Error("unauthorized"), { unauthorized: true });
          if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
          return path.endsWith("metrics") ? response.text() : response.json();
        }

        async function tick() {
          try {
            const [overview, metricsText] = await Promise.all([get("/admin/overview"), get("/admin/metrics")]);
            render(overview, parseMetrics(metricsText));
            $("status").textContent = "live";
            $("status").className = "live";
          } catch (error) {
            if (error.unauthorized) return showLogin("That key was refused (401).");
            $("status").textContent = "unreachable";
            $("status").className = "down";
          }
        }

        function render(overview, samples) {
          const now = performance.now() / 1000;
          const counters = {
            in: total(samples, "godispatch_messages_received_total"),
            out: total(samples, "godispatch_frames_sent_total"),
            errors: total(samples, "godispatch_errors_total"),
            byCode: byLabel(samples, "godispatch_errors_total", "code"),
          };
          const elapsed = previous ? Math.max(0.001, now - previous.at) : 0;
          const perSecond = (key) => previous ? Math.max(0, counters[key] - previous.counters[key]) / elapsed : NaN;
          const point = { connections: Number(overview.connections), in: perSecond("in"), out: perSecond("out"), errors: perSecond("errors") };
          if (previous) { series.push(point); if (series.length > WINDOW) series.shift(); }

          $("connections").textContent = number(point.connections);
          $("users").textContent = number(Number(overview.users));
          $("rooms").textContent = number(Number(overview.rooms));
          $("in-rate").textContent = rate(point.in);
          $("out-rate").textContent = rate(point.out);
          $("error-rate").textContent = rate(point.errors);

          const node = overview.nodes[0] || {};
          $("node").textContent = `${node.name || "?"} · v${node.version || "?"} · up ${duration(Number(node.uptime || 0))}`;

          fill("largest-rooms", overview.largest_rooms.map((room) =>
            element("tr", {}, element("td", {}, room.room), element("td", { class: "num" }, number(Number(room.members))))),
            element("tr", {}, element("td", { colspan: "2", class: "empty" }, "no rooms yet")));

          const codes = Object.entries(counters.byCode).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
          fill("errors", codes.map(([code, n]) => {
            const last = previous ? (n - (previous.counters.byCode[code] || 0)) / elapsed : NaN;
            return element("tr", {}, element("td", {}, code), element("td", { class: "num" }, number(n)), element("td", { class: "num" }, rate(last)));
          }), element("tr", {}, element("td", { colspan: "3", class: "empty" }, "no error frames sent")));

          fill("nodes", overview.nodes.map((n) => element("tr", {},
            element("td", {}, n.name), element("td", {}, n.version), element("td", { class: "num" }, duration(Number(n.uptime))),
            element("td", { class: "num" }, number(Number(n.num_clients))), element("td", { class: "num" }, number(Number(n.num_users))))),
            element("tr", {}, element("td", { colspan: "5", class: "empty" }, "no nodes")));

          fill("plugins", overview.plugins.map((plugin) => element("div", { class: "plugin" },
            element("b", {}, plugin.name), " ", element("small", {}, `v${plugin.version} · ABI ${plugin.abi} · ${plugin.file.split("/").pop()}`),
            element("div", {}, ...plugin.actions.map((action) => element("span", { class: "tag", title: action.description }, action.name))))),
            element("div", { class: "empty" }, "no plugins loaded"));
          fill("events", overview.events.map((name) => element("span", { class: "tag" }, name)), element("span", { class: "empty" }, "none"));
          fill("server-events", overview.server_events.map((name) => element("span", { class: "tag" }, name)), element("span", { class: "empty" }, "none"));

          previous = { at: now, counters };
          draw();
        }

        function draw() {
          const canvas = $("traffic");
          const scale = window.devicePixelRatio || 1;
          const width = canvas.clientWidth, height = canvas.clientHeight;
          canvas.width = width * scale; canvas.height = height * scale;
          const g = canvas.getContext("2d");
          g.scale(scale, scale);
          g.clearRect(0, 0, width, height);
          const pad = { left: 44, right: 44, top: 10, bottom: 20 };
          const plotW = width - pad.left - pad.right, plotH = height - pad.top - pad.bottom;
          const css = getComputedStyle(document.documentElement);
          const color = (name) => css.getPropertyValue(name).trim();
          const rateMax = niceMax(Math.max(1, ...series.flatMap((p) => [p.in, p.out, p.errors])));
          const connMax = niceMax(Math.max(1, ...series.map((p) => p.connections)));
          g.strokeStyle = color("--line"); g.fillStyle = color("--dim"); g.font = "11px system-ui, sans-serif"; g.lineWidth = 1;
          for (let i = 0; i <= 4; i++) {
            const y = pad.top + plotH * (1 - i / 4);
            g.beginPath(); g.moveTo(pad.left, y); g.lineTo(width - pad.right, y); g.stroke();
            g.textAlign = "right"; g.fillText(compact(rateMax * i / 4), pad.left - 6, y + 4);
            g.textAlign = "left"; g.fillText(compact(connMax * i / 4), width - pad.right + 6, y + 4);
          }
          g.textAlign = "center"; g.fillText("−2 min", pad.left + 14, height - 4); g.fillText("now", width - pad.right - 10, height - 4);
          const x = (i) => pad.left + plotW * (i + WINDOW - series.length) / (WINDOW - 1);
          const line = (key, max, name) => {
            g.strokeStyle = color(name); g.lineWidth = 2; g.beginPath();
            series.forEach((p, i) => { const y = pad.top + plotH * (1 - Math.min(1, (p[key] || 0) / max)); i ? g.lineTo(x(i), y) : g.moveTo(x(i), y); });
            g.stroke();
          };
          line("connections", connMax, "--conn"); line("in", rateMax, "--in"); line("out", rateMax, "--out"); line("errors", rateMax, "--err");
        }
        function niceMax(value) {
          const power = Math.pow(10, Math.floor(Math.log10(value)));
          for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
          return 10 * power;
        }
        const compact = (n) => n >= 1e6 ? (n / 1e6).toFixed(1) + "M" : n >= 1e3 ? (n / 1e3).toFixed(n >= 1e4 ? 0 : 1) + "k" : String(Math.round(n));

        function showLogin(message) {
          clearInterval(timer); timer = null;
          $("dashboard").hidden = true; $("login").hidden = false;
          $("login-error").textContent = message || "";
          $("status").textContent = "locked"; $("status").className = "";
          $("key").focus();
        }
        function start() {
          $("login").hidden = true; $("dashboard").hidden = false;
          previous = null; series.length = 0;
          tick(); timer = setInterval(tick, 1000);
        }
        $("login-form").addEventListener("submit", (event) => {
          event.preventDefault();
          sessionStorage.setItem(KEY, $("key").value.trim());
          start();
        });
        window.addEventListener("resize", draw);
        sessionStorage.getItem(KEY) ? start() : showLogin();
        </script>
        </body>
        </html>
        """#
}
