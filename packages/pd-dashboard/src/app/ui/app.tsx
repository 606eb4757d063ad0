import { useEffect, useState } from "preact/hooks";
import { createFeed, type FeedState } from "../feed/feed.js";
import { formatWallMs, u64 } from "../format.js";
import { Activity } from "./activity.js";
import { FollowerNotice, Header } from "./header.js";
import { KeyMap } from "./keymap.js";
import { Operators } from "./operators.js";
import { Stores } from "./stores.js";

/** The banner of a lost connection: shown while polls fail, gone once PD answers again. */
function Banner({ state }: { state: FeedState }) {
  const c = state.connection;
  if (c.ok) return null;
  return (
    <div class="banner" role="alert" data-testid="connection-banner">
      <b>Lost connection to PD</b>
      {c.lostAtMs !== undefined ? ` since ${formatWallMs(c.lostAtMs).slice(11, 19)}` : ""}: {c.error}. Retrying by itself (attempt {c.attempts})
      {state.summary !== undefined ? "; the data below is from before." : "."}
    </div>
  );
}

/** The status page. */
export function App() {
  const [state, setState] = useState<FeedState | undefined>(undefined);
  useEffect(() => {
    const feed = createFeed(setState);
    return () => feed.stop();
  }, []);
  if (state === undefined || state.summary === undefined) {
    return (
      <main>
        {state !== undefined ? <Banner state={state} /> : null}
        <p class="boot">Connecting to PD…</p>
      </main>
    );
  }
  const { summary } = state;
  const cluster = summary.cluster;
  return (
    <main class={state.connection.ok ? "" : "stale"}>
      <Banner state={state} />
      <Header summary={summary} />
      {cluster === null ? (
        <FollowerNotice summary={summary} />
      ) : (
        <>
          <section class="panel">
            <h2>Stores</h2>
            <Stores stores={cluster.stores} samples={state.samples} serverTimeMs={u64(summary.server_time_ms)} />
          </section>
          <section class="panel">
            <h2>Key space</h2>
            <KeyMap regions={state.regions} version={state.regionsVersion} stores={cluster.stores} loading={state.loading !== undefined} />
          </section>
        </>
      )}
      <section class="panel">
        <h2>Activity {cluster === null ? "of this member" : ""}</h2>
        <Activity samples={state.samples} />
      </section>
      {cluster !== null ? (
        <section class="panel">
          <h2>Scheduling</h2>
          <Operators state={state.operators} error={state.operatorsError} />
        </section>
      ) : null}
      <footer class="muted small">
        Read-only: this page only reads PD's status API (<a href="../pd/api/v1/stores">/pd/api/v1</a>, <a href="../metrics">/metrics</a>). Updated every second
        while visible.
      </footer>
    </main>
  );
}
