import type { OperatorsState, OperatorView } from "../feed/operators.js";
import { formatDuration, formatWallMs } from "../format.js";

function Row({ op }: { op: OperatorView }) {
  return (
    <tr data-region-id={op.regionId.toString()} data-operator-id={op.key}>
      <td>{op.regionId.toString()}</td>
      <td>{op.kind}</td>
      <td>
        <ol class="steps">
          {op.steps.map((s, i) => (
            <li key={i} class={s.done ? "done" : ""}>{s.text}</li>
          ))}
        </ol>
      </td>
      <td>
        <span class={`op-status op-${op.status}`} title={op.reason === "" ? undefined : op.reason} data-testid="op-status">
          {op.status}
        </span>
        {op.reason === "" ? null : <div class="muted small">{op.reason}</div>}
      </td>
      <td>{formatWallMs(op.startedAtMs).slice(11)}</td>
      <td>{op.endedAtMs !== undefined ? formatDuration(Number(op.ageMs)) : `${formatDuration(Number(op.ageMs))} so far`}</td>
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

/** The scheduler at work: operators in flight (oldest first) and recently ended (newest first), from TiKV's `/operators` paths. */
export function Operators({ state, error }: { state: OperatorsState | undefined; error: string }) {
  if (state === undefined) return <p class="muted">{error === "" ? "Loading…" : error}</p>;
  const counted = Object.entries(state.counters).filter(([, v]) => v > 0);
  return (
    <div>
      <p class="muted small" data-testid="op-counters">
        Since this member leads: {counted.length === 0 ? "no operator yet" : counted.map(([k, v]) => `${v} ${k}`).join(", ")}.
        {state.unreadable > 0 ? ` ${state.unreadable} operator(s) this page cannot read (a newer PD?).` : ""}
      </p>
      <h3>In flight{state.inFlightTotal > state.inFlight.length ? ` (the oldest ${state.inFlight.length} of ${state.inFlightTotal})` : ""}</h3>
      <Table ops={state.inFlight} empty="Nothing in flight." testid="ops-in-flight" />
      <h3>Recent</h3>
      <Table ops={state.recent} empty="Nothing ended recently." testid="ops-recent" />
    </div>
  );
}
