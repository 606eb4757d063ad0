import { once } from "node:events";
import { createServer } from "node:net";

/** Binds port 0 on loopback and returns the port the kernel chose (free a moment ago; bind it soon). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const addr = srv.address();
  srv.close();
  await once(srv, "close");
  if (addr === null || typeof addr === "string") throw new Error("could not bind a loopback port");
  return addr.port;
}
