// Worker thread for bench/freshness.ts: watches one export file cheaply (stat every `pollMs`; read
// and parse only when mtime or size changed) and posts, per change of the file, the time the new
// file was first seen and the products whose change marker (highest <seq> of a title "... #<seq>"
// or a variant barcode "bench#<seq>") moved forward.
// A worker thread, so parsing never delays the simulator's webhook deliveries in the main thread.
// Plain JavaScript: worker threads do not inherit the tsx loader on Node 20.
import { readFileSync, statSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";

const { path, pollMs } = workerData;
const lastSeq = new Map();
let lastKey = "";
let stop = false;
parentPort.on("message", (m) => {
  if (m === "stop") stop = true;
});

function check() {
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  const key = `${st.mtimeMs}:${st.size}:${st.ino}`;
  if (key === lastKey) return;
  const seenAt = Date.now();
  let doc;
  try {
    doc = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return; // not expected (atomic rename), but never count a half-read file
  }
  lastKey = key;
  const moved = [];
  for (const p of doc.products) {
    // A change's marker: the product title ends in "#<seq>" or a variant's barcode is "bench#<seq>".
    let seq = -1;
    const m = /#(\d+)$/.exec(p.title);
    if (m) seq = Number(m[1]);
    for (const v of p.variants) {
      const b = v.barcode && /^bench#(\d+)$/.exec(v.barcode);
      if (b) seq = Math.max(seq, Number(b[1]));
    }
    if (seq >= 0 && seq > (lastSeq.get(p.id) ?? -1)) {
      lastSeq.set(p.id, seq);
      moved.push([p.id, seq]);
    }
  }
  parentPort.postMessage({ seenAt, parseMs: Date.now() - seenAt, moved, products: doc.products.length });
}

const tick = () => {
  if (stop) return;
  check();
  setTimeout(tick, pollMs);
};
tick();
