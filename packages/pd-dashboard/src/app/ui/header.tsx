import type { DashboardSummaryJson } from "../../api-types.js";
import { decodeTso, formatDuration, formatWallMs, u64 } from "../format.js";

/** Members and the leader, this member's uptime, and where the allocators stand (the last TSO as a wall-clock time). */
export function Header({ summary }: { summary: DashboardSummaryJson }) {
  const { member, members, cluster } = summary;
  const leader = members.leader;
  const a = cluster?.allocators;
  const tso = a === undefined ? 0n : u64(a.tso_last);
  const { physicalMs, logical } = decodeTso(tso);
  const tsoCeiling = a === undefined ? 0n : decodeTso(u64(a.tso_ceiling)).physicalMs;
  const live = { Up: 0, Disconnected: 0, Down: 0 } as Record<string, number>;
  for (const s of cluster?.stores ?? []) live[s.store.state_name] = (live[s.store.state_name] ?? 0) + 1;
  return (
    <header class="header">
      <div class="title">
        <h1>PD-lite</h1>
        <span class="member" data-testid="member-name">{member.name}</span>
        <span class={`role ${member.serving ? "leader" : "follower"}`} data-testid="member-role">
          {member.serving ? "leader" : "follower"}
        </span>
        <span class="muted">
          up {formatDuration(member.uptime_ms)} · started {formatWallMs(u64(member.started_at_ms))}
        </span>
      </div>
      <div class="facts">
        <section>
          <h2>Members</h2>
          <ul class="members" data-testid="members">
            {members.members.map((m) => (
              <li key={m.name} class={m.is_leader ? "is-leader" : ""}>
                <b>{m.name}</b> <span class="muted">{m.client_urls.join(", ")}</span>
                {m.is_leader ? <span class="role leader">leader</span> : null}
                {m.name === member.name ? <span class="muted"> (this page)</span> : null}
              </li>
            ))}
          </ul>
          {leader === null ? <p class="warn">No leader is elected.</p> : null}
        </section>
        {a !== undefined && cluster !== null ? (
          <>
            <section>
              <h2>Allocators</h2>
              <dl class="kv">
                <dt>next id</dt>
                <dd data-testid="id-next">{a.id_next}</dd>
                <dt>id ceiling</dt>
                <dd>{a.id_ceiling}</dd>
                <dt>last TSO</dt>
                <dd data-testid="tso-last" title={`physical ${physicalMs} ms, logical ${logical}`}>
                  {tso === 0n ? "none yet" : <>{formatWallMs(physicalMs)} <span class="muted">+{logical.toString()} · {a.tso_last}</span></>}
                </dd>
                <dt>TSO ceiling</dt>
                <dd>{tsoCeiling === 0n ? "—" : formatWallMs(tsoCeiling)}</dd>
              </dl>
            </section>
            <section>
              <h2>Cluster</h2>
              <dl class="kv">
                <dt>regions</dt>
                <dd data-testid="region-count">{cluster.region_count}</dd>
                <dt>stores</dt>
                <dd>
                  <span class="live-up">{live.Up} up</span> · <span class="live-disconnected">{live.Disconnected} disconnected</span> ·{" "}
                  <span class="live-down">{live.Down} down</span>
                </dd>
                <dt>operators</dt>
                <dd data-testid="operators-in-flight">{cluster.operators.in_flight} in flight</dd>
              </dl>
            </section>
          </>
        ) : null}
      </div>
    </header>
  );
}

/** What a member that does not serve shows instead of cluster data. */
export function FollowerNotice({ summary }: { summary: DashboardSummaryJson }) {
  const leader = summary.members.leader;
  return (
    <section class="panel follower" data-testid="follower-notice">
      <h2>This member follows {leader === null ? "no one yet" : leader.name}</h2>
      <p>
        Only the leader holds the stores, the regions and the scheduler.{" "}
        {leader === null
          ? "No leader is elected right now; this page shows the cluster as soon as one is."
          : `Open the status page of ${leader.name} (its gRPC address is ${leader.client_urls.join(", ")}; its status port is the one it was started with). `}
        This page keeps polling and shows the cluster by itself if this member becomes the leader.
      </p>
    </section>
  );
}
