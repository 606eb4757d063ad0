/**
 * The transport ceiling: a bare grpc-js server serving `pb.PD` whose `Tso`
 * handler answers a constant at once (no validation, no allocator, no
 * logging) and whose other methods are left unimplemented. Run as a child
 * process: `node dist/bare-server.js`; prints `bare grpc-js listening on HOST:PORT`.
 */
import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { PDService, type TsoRequest, type TsoResponse } from "@nokv/pd-proto";

const ANSWER: TsoResponse = { timestamp: 1n, count: 1n };
const server = new Server();
server.addService(PDService, {
  tso: (_call: ServerUnaryCall<TsoRequest, TsoResponse>, cb: sendUnaryData<TsoResponse>) => cb(null, ANSWER),
});
server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, port) => {
  if (err) {
    process.stderr.write(`bare-server: ${err.message}\n`);
    process.exit(1);
  }
  process.stdout.write(`bare grpc-js listening on 127.0.0.1:${port}\n`);
});
const stop = (): void => server.tryShutdown(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
