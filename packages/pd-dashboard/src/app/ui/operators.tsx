import type { OperatorsState, OperatorView } from "../feed/operators.js";
import { formatDuration, formatWallMs } from "../format.js";

/** Recently ended operations shown: enough to see what the scheduler just did, without pushing the page down. */
const RECENT_SHOWN = 8;

function Row({ op }: { op: OperatorView }) {
  return (
    <tr data-region-id={op.regionId.toString()}>
      <td>{op.regionId.toString()}</td>
      <td>{op.kind}</td>
      <td>
        <ol class="steps">
          {op.steps.map((s, i) => (
            <li key={i} class={s.done === true ? "done" : ""}>{s.text}</li>
          ))}
        </ol>
      </td>
      <td>
        <span class={`op-status op-${op.status.replace(/\s+/g, "-")}`}>{op.status}</span>
      </td>
      <td>{op.startedAtMs === undefined ? "—" : formatWallMs(op.startedAtMs).slice(11)}</td>
      <td>{op.endedAtMs !== undefined && op.startedAtMs !== undefined ? formatDuration(Number(op.endedAtMs - op.startedAtMs)) : op.ageMs === undefined ? "—" : `${formatDuration(op.ageMs)} so far`}</td>
    </tr>
  );
}

function Table({ ops, empty, testid }: { ops: readonly OperatorView[]; empty: string; testid: string }) {
  if (ops.length === 0) return <p class="muted" data-testid={testid}>{empty}</p>;
  return (
    <table class="ops" data-testid={testid}>
      <thead>
        <tr>
          <th>region</th>
          <th>kind</th>
          <th>steps</th>
          <th>status</th>
          <th>started</th>
          <th>took</th>
        </tr>
      </thead>
      <tbody>
        {ops.map((op) => (
          <Row key={op.key} op={op} />
        ))}
      </tbody>
    </table>
  );
}

/** The scheduler at work: operations in flight and recently ended, whichever API PD offers (see `createOperatorsSource`). */
export function Operators({ state, error }: { state: OperatorsState | undefined; error: string }) {
  if (state === undefined) return <p class="muted">{error === "" ? "Loading…" : error}</p>;
  return (
    <div>
      <p class="muted small">
        {state.note} Since start-up:{" "}
        {Object.entries(state.counters)
          .map(([k, v]) => `${v} ${k}`)
          .join(", ")}
        .
      </p>
      <h3>In flight</h3>
      <Table ops={state.inFlight} empty="Nothing in flight." testid="ops-in-flight" />
      <h3>Recent{state.recent.length > RECENT_SHOWN ? ` (the last ${RECENT_SHOWN} of ${state.recent.length})` : ""}</h3>
      <Table ops={state.recent.slice(0, RECENT_SHOWN)} empty="Nothing ended recently." testid="ops-recent" />
    </div>
  );
}
