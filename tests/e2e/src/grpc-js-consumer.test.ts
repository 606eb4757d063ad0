import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO_ROOT } from "./harness/pd-process.js";
import { runCommand } from "./harness/run-command.js";
import { useTestScope } from "./harness/test-scope.js";

// A gateway that already uses grpc-js installs the packed @nokv/pd-client and
// passes its own credentials and channel options. pd-client (and pd-proto
// under it) must then run on the gateway's grpc-js — one copy in the tree —
// so the types line up and grpc-js's own instanceof checks pass.
//
// The grpc-js versions below are devDependencies of this package (under
// aliases), so that the lockfile brings them into the pnpm store and the
// consumer installs offline, from the store alone.

const PNPM = "pnpm";

async function packedTarballs(dest: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, dir] of [
    ["@nokv/pd-model", "packages/pd-model"],
    ["@nokv/pd-proto", "proto"],
    ["@nokv/pd-client", "packages/pd-client"],
  ] as const) {
    const r = await runCommand(PNPM, ["pack", "--pack-destination", dest], { cwd: join(REPO_ROOT, dir), timeoutMs: 60_000 });
    expect(r.code, r.stderr.join("\n")).toBe(0);
    const file = (await readdir(dest)).find((f) => f.startsWith(name.replace("@", "").replace("/", "-")) && f.endsWith(".tgz"));
    expect(file, `tarball of ${name}`).toBeDefined();
    out[name] = `file:${join(dest, file!)}`;
  }
  return out;
}

const CONSUMER = `
import { createRequire } from "node:module";
import * as grpc from "@grpc/grpc-js";
import { createPdClient, GrpcStatus, PdClientError, type PdClientOptions } from "@nokv/pd-client";

// The gateway's own grpc-js objects, passed straight to pd-client.
const credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure();
const channelOptions: grpc.ChannelOptions = { "grpc.keepalive_time_ms": 60_000 };
const options: PdClientOptions = { addr: process.argv[2]!, credentials, channelOptions };
const pd = createPdClient(options);
try {
  const ts: bigint = await pd.getTimestamp();
  const ids = await pd.allocId(3n);
  const status: number = GrpcStatus.UNAVAILABLE;
  const require = createRequire(import.meta.url);
  const version = (require("@grpc/grpc-js/package.json") as { version: string }).version;
  console.log(JSON.stringify({ ok: ts > 0n && ids.count === 3n, grpcJs: version, unavailable: status, isError: new PdClientError("x", { status, code: "UNAVAILABLE", retryable: true }) instanceof Error }));
} finally {
  pd.close();
}
`;

describe("a consumer that brings its own grpc-js", () => {
  const scope = useTestScope();

  for (const grpcJs of ["1.10.11", "1.13.4"]) {
    it(`runs pd-client on the consumer's grpc-js ${grpcJs}: one copy, typechecks, calls a real PD`, async () => {
      const dir = await scope.workdir();
      const tarballs = join(dir, "tarballs");
      await mkdir(tarballs);
      const packed = await packedTarballs(tarballs);
      const app = join(dir, "app");
      await mkdir(app);
      const rootPkg = JSON.parse(await readFile(join(REPO_ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> };
      await writeFile(
        join(app, "package.json"),
        JSON.stringify({
          name: "gateway",
          private: true,
          type: "module",
          dependencies: { "@grpc/grpc-js": grpcJs, "@nokv/pd-client": packed["@nokv/pd-client"] },
          devDependencies: { typescript: rootPkg.devDependencies.typescript, "@types/node": rootPkg.devDependencies["@types/node"] },
        }),
      );
      // The packed pd-client asks for pd-proto and pd-model by version; point those at the tarballs too.
      await writeFile(
        join(app, "pnpm-workspace.yaml"),
        `overrides:\n  "@nokv/pd-proto": "${packed["@nokv/pd-proto"]}"\n  "@nokv/pd-model": "${packed["@nokv/pd-model"]}"\n` +
          // protobufjs (under grpc-js's proto-loader) has an install script it does not need.
          "allowBuilds:\n  protobufjs: false\n",
      );
      await writeFile(
        join(app, "tsconfig.json"),
        JSON.stringify({
          compilerOptions: {
            target: "ES2022",
            module: "NodeNext",
            moduleResolution: "NodeNext",
            strict: true,
            skipLibCheck: false, // the published .d.ts files are checked against the consumer's grpc-js
            outDir: "dist",
            types: ["node"],
          },
          include: ["index.ts"],
        }),
      );
      await writeFile(join(app, "index.ts"), CONSUMER);
      const store = (await runCommand(PNPM, ["store", "path"], { cwd: app })).stdout[0]!;
      const installArgs = ["install", "--store-dir", store, "--reporter=append-only"];
      let install = await runCommand(PNPM, [...installArgs, "--offline"], { cwd: app, timeoutMs: 120_000 });
      const output = (): string => [...install.stdout, ...install.stderr].join("\n");
      if (install.code !== 0 && /NO_OFFLINE_META/.test(output())) {
        // A machine whose pnpm never cached the registry's metadata (a fresh CI
        // clone installs from the lockfile only) cannot resolve versions
        // offline; the tarballs still come from the store.
        console.log("grpc-js consumer: no offline metadata cache; installing with --prefer-offline");
        install = await runCommand(PNPM, [...installArgs, "--prefer-offline"], { cwd: app, timeoutMs: 120_000 });
      }
      expect(install.code, output()).toBe(0);

      // Exactly one grpc-js in the tree: the consumer's.
      const copies = (await readdir(join(app, "node_modules/.pnpm"))).filter((d) => d.startsWith("@grpc+grpc-js@"));
      expect(copies).toEqual([`@grpc+grpc-js@${grpcJs}`]);

      const tsc = await runCommand(process.execPath, [join(app, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: app, timeoutMs: 120_000 });
      expect(tsc.code, tsc.stdout.join("\n")).toBe(0);

      const pd = await scope.startPd(["--addr", "127.0.0.1:0", "--workdir", await scope.workdir()]);
      const run = await runCommand(process.execPath, [join(app, "dist/index.js"), pd.addr], { cwd: app, timeoutMs: 30_000 });
      expect(run.code, run.stderr.join("\n")).toBe(0);
      expect(JSON.parse(run.stdout.at(-1)!)).toEqual({ ok: true, grpcJs, unavailable: 14, isError: true });
    }, 180_000);
  }
});
