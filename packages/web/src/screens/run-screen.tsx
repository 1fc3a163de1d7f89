import type { CommandKind, ConsoleEventView } from '@lockgate/api';
import { useLive, useNow } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { ReasonAction } from '../ui/action.tsx';
import { duration, packName, shortDigest, stateWord, time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import { checkpointsOf, commandsFor, MARK_SYMBOL, nextStep, planWords } from './run-model.ts';

const COMMAND_LABEL: Record<CommandKind, string> = {
  pause: 'Pause',
  resume: 'Resume',
  promote: 'Promote',
  approve: 'Approve',
  reject: 'Reject',
  retry: 'Retry',
  abort: 'Abort',
  rollback: 'Roll back',
};

/** Run / Timeline: one release as an auditable story, live. */
export function RunScreen({ id }: { id: string }) {
  const { client, session, packs } = useConsole();
  const now = useNow();
  const relevant = (event: ConsoleEventView): boolean => event.release === id;
  const run = useLive(
    async () => {
      const [status, timeline] = await Promise.all([client.release(id), client.timeline(id)]);
      return { ...status, records: timeline.items };
    },
    [client, id],
    { pollMs: 1000, relevant },
  );
  if (run.status === 'loading') return <p role="status">Loading release {id}…</p>;
  if (run.status === 'error') {
    return (
      <section aria-labelledby="run-title">
        <h1 id="run-title">Release {id}</h1>
        <Refusal error={run.error} />
      </section>
    );
  }
  const { release, why, records } = run.data;
  const checkpoints = checkpointsOf(release, records, why);
  const commands = canAct(session.role) ? commandsFor(release, why) : [];
  const endAt = release.outcome?.at ?? null;
  const runFor =
    ((endAt === null ? now : Date.parse(endAt)) - Date.parse(release.createdAt)) / 1000;
  const warnings: string[] = [];
  if (why !== null) {
    if (why.freeze !== null) warnings.push(`freeze in effect until ${time(why.freeze.until)}`);
    if (why.refusals.targets > 0) {
      warnings.push(
        `agent refusals: ${why.refusals.groups.map((g) => `${g.code} × ${g.targets}`).join(', ')}`,
      );
    }
    if (why.stage !== null && why.stage.onPack < why.stage.targets) {
      warnings.push(
        `${why.stage.targets - why.stage.onPack} of ${why.stage.targets} stage targets not reporting the pack yet`,
      );
    }
    for (const gate of why.gates) {
      if (gate.verdict === 'inconclusive')
        warnings.push(`${gate.metric}: ${gate.reasons.join('; ')}`);
    }
    if (why.verification?.ok === false) {
      warnings.push(
        `verification: ${why.verification.reasons.map((r) => r.code ?? r.message).join(', ')}`,
      );
    }
  }
  const href = `/releases/${encodeURIComponent(release.id)}`;
  const holder = [...records].reverse().find((r) => r.holder !== null)?.holder ?? null;
  return (
    <section aria-labelledby="run-title">
      <header className="run-header">
        <h1 id="run-title">
          Run {release.id}: {packName(packs, release.pack)}{' '}
          <code title={release.pack}>{shortDigest(release.pack)}</code>
        </h1>
        <dl className="facts">
          <dt>Target</dt>
          <dd>
            <Link to={`/channels/${release.env}/${release.channel}`}>
              {release.env} / {release.channel}
            </Link>
          </dd>
          <dt>Plan</dt>
          <dd>{planWords(release)}</dd>
          <dt>State</dt>
          <dd>
            <span className={`state state-${release.state}`}>
              {stateWord(release.state).toUpperCase()}
            </span>
            {release.currentStage === null
              ? ''
              : ` (${release.currentStage.name} ${release.currentStage.percent}%)`}
          </dd>
          <dt>Started</dt>
          <dd>{time(release.createdAt)}</dd>
          <dt>Duration</dt>
          <dd>{duration(runFor)}</dd>
          <dt>Controller</dt>
          <dd>{holder ?? '—'}</dd>
        </dl>
      </header>
      <div
        className={`banner ${warnings.length > 0 ? 'warn' : 'ok'}`}
        role="status"
        aria-label="Data health"
      >
        Data health: {warnings.length > 0 ? `WARN — ${warnings.join(' | ')}` : 'OK'}
      </div>
      <p className="next-step" aria-live="polite">
        <strong>Status:</strong> {nextStep(release, why, now)}
      </p>
      {run.error === undefined ? null : <Refusal error={run.error} />}
      <h2>Timeline</h2>
      <ol className="timeline">
        {checkpoints.map((checkpoint) => (
          <li key={checkpoint.key} className={`mark-${checkpoint.mark}`}>
            <span className="at">
              {checkpoint.at === null ? '----' : time(checkpoint.at).slice(11)}
            </span>
            <span className="mark" aria-label={checkpoint.mark}>
              {MARK_SYMBOL[checkpoint.mark]}
            </span>
            <span className="title">{checkpoint.title}</span>
            <span className="summary">{checkpoint.summary}</span>
            <span className="links">
              {checkpoint.record === null ? null : (
                <Link
                  to={`/releases/${encodeURIComponent(release.id)}/steps/${checkpoint.record.seq}`}
                >
                  Step detail<span className="visually-hidden"> of {checkpoint.title}</span>
                </Link>
              )}
              {checkpoint.stage === null || checkpoint.key.startsWith('approval') ? null : (
                <Link to={`/releases/${encodeURIComponent(release.id)}/stages/${checkpoint.stage}`}>
                  Deploy stage<span className="visually-hidden"> {checkpoint.title}</span>
                </Link>
              )}
            </span>
          </li>
        ))}
      </ol>
      <h2>Quick actions</h2>
      <div className="actions" aria-label="Quick actions">
        {commands.map((kind) => (
          <ReasonAction
            key={kind}
            label={COMMAND_LABEL[kind]}
            danger={kind === 'abort' || kind === 'rollback'}
            run={async (reason) => {
              await client.command(release.id, kind, { reason });
              run.reload();
            }}
          />
        ))}
        {canAct(session.role) && release.state === 'completed' ? (
          <Link to={`${href}/rollback?scope=pin`}>Roll back to the LKG or an earlier pack…</Link>
        ) : null}
        <Link to={`${href}/rollback`}>Rollback / Re-run…</Link>
        <Link to={`${href}/evidence`}>Export evidence</Link>
        <Link to={`${href}/replay`}>Replay</Link>
        <Link to="/schedule">Schedule</Link>
      </div>
    </section>
  );
}
