// Child process for test/documents.files.test.ts: writes version 1 of a document (complete), then
// starts writing version 2 with putStream and stops in the middle of it: after the first 2 MB have
// been written to the temp file it prints "mid-write" and waits forever, to be killed with SIGKILL.
import { createFileDocumentStore } from "../../src/storage/documents.js";

const [root, key] = [process.argv[2]!, process.argv[3]!];
const store = createFileDocumentStore(root);
await store.put(key, JSON.stringify({ version: 1, items: Array.from({ length: 1000 }, (_, i) => i) }));
process.stdout.write("v1\n");

async function* version2(): AsyncIterable<string> {
  yield '{"version":2,"items":[';
  const row = JSON.stringify({ pad: "x".repeat(1000) });
  for (let i = 0; i < 2100; i++) yield `${row},`; // > 2 MB: putStream flushes each ~1 MB to the temp file
  yield row;
  // putStream asks for this next chunk only after its ~1 MB flushes of the chunks above were
  // written, so the temp file holds them now. Stop for good.
  process.stdout.write("mid-write\n");
  await new Promise(() => {});
  yield "]}";
}
await store.putStream(key, version2());
