// Child process for bench/fleet-intake.ts: the fleet tests' round-robin balancer
// (test/helpers/balancer.ts) in its own process, so it shares no event loop with the load
// generator. Argument: the backend URLs, comma-separated. Prints {"url"}; exits on SIGTERM.
import { startBalancer } from "../../test/helpers/balancer.js";

const lb = await startBalancer((process.argv[2] ?? "").split(",").filter(Boolean));
console.log(JSON.stringify({ url: lb.url }));
process.once("SIGTERM", async () => {
  await lb.close();
  process.exit(0);
});
