// Worker thread for bench/freshness.ts: watches one export file cheaply (stat every `pollMs`; read
// and parse only when mtime or size changed) and posts, per change of the file, the time the new
// file was first seen and the products whose title sequence ("... #<seq>") moved forward.
// A worker thread, so parsing never delays the simulator's webhook deliveries in the main thread.
import { readFileSync, statSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

const { path, pollMs } = workerData as { path: string; pollMs: number };
const lastSeq = new Map<string, number>();
let lastKey = "";
let stop = false;
parentPort!.on("message", (m) => {
  if (m === "stop") stop = true;
});

function check(): void {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
  if (key === lastKey) return;
  const seenAt = Date.now();
  let doc: { products: { id: string; title: string }[] };
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return; // not expected (atomic rename), but never count a half-read file
  }
  lastKey = key;
  const moved: [string, number][] = [];
  for (const p of doc.products) {
    const m = /#(\d+)$/.exec(p.title);
    if (!m) continue;
    const seq = Number(m[1]);
    if (seq > (lastSeq.get(p.id) ?? -1)) {
      lastSeq.set(p.id, seq);
      moved.push([p.id, seq]);
    }
  }
  parentPort!.postMessage({ seenAt, parseMs: Date.now() - seenAt, moved, products: doc.products.length });
}

const tick = () => {
  if (stop) return;
  check();
  setTimeout(tick, pollMs);
};
tick();
