import { createServer, type Server, type Socket, connect } from "node:net";
import { once } from "node:events";

/**
 * A TCP proxy on a loopback port in front of one upstream address, that a
 * test can cut: the nemesis "a cut between a PD and etcd" without iptables.
 *
 * A cut is a black hole, the nastiest kind of partition: connections stay
 * open and bytes written into them vanish, so the client sees no error, only
 * silence (new connections are accepted and go nowhere). Healing drops
 * every connection of the cut — their streams lost bytes — and lets new
 * ones through again.
 */
export class TcpProxy {
  readonly #server: Server;
  readonly #upstreamHost: string;
  readonly #upstreamPort: number;
  readonly #pairs = new Set<{ client: Socket; upstream: Socket | undefined }>();
  #cut = false;
  port = 0;

  private constructor(upstream: string) {
    const [host, port] = upstream.replace(/^https?:\/\//, "").split(":");
    this.#upstreamHost = host!;
    this.#upstreamPort = Number(port);
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Starts a proxy to `upstream` (`host:port` or `http://host:port`) on a free loopback port. */
  static async start(upstream: string): Promise<TcpProxy> {
    const p = new TcpProxy(upstream);
    p.#server.listen(0, "127.0.0.1");
    await once(p.#server, "listening");
    p.port = (p.#server.address() as { port: number }).port;
    return p;
  }

  /** `http://127.0.0.1:<port>`: what the client dials instead of the upstream. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** True while cut. */
  get isCut(): boolean {
    return this.#cut;
  }

  /** Black-holes every connection, open or new, until {@link heal}. */
  cut(): void {
    this.#cut = true;
  }

  /** Ends the cut: drops the connections that lost bytes; new ones pass again. */
  heal(): void {
    if (!this.#cut) return;
    this.#cut = false;
    for (const pair of [...this.#pairs]) this.#drop(pair);
  }

  /** Closes the proxy and every connection. */
  async close(): Promise<void> {
    for (const pair of [...this.#pairs]) this.#drop(pair);
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #accept(client: Socket): void {
    const pair: { client: Socket; upstream: Socket | undefined } = { client, upstream: undefined };
    this.#pairs.add(pair);
    client.on("error", () => this.#drop(pair));
    client.on("close", () => this.#drop(pair));
    const pending: Buffer[] = [];
    client.on("data", (chunk: Buffer) => {
      if (this.#cut) return; // into the black hole
      if (pair.upstream === undefined) pending.push(chunk);
      else pair.upstream.write(chunk);
    });
    if (this.#cut) return; // accepted, never connected: silence
    const upstream = connect(this.#upstreamPort, this.#upstreamHost);
    pair.upstream = upstream;
    upstream.on("connect", () => {
      for (const c of pending.splice(0)) upstream.write(c);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!this.#cut) client.write(chunk);
    });
    upstream.on("error", () => this.#drop(pair));
    upstream.on("close", () => this.#drop(pair));
  }

  #drop(pair: { client: Socket; upstream: Socket | undefined }): void {
    if (!this.#pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
