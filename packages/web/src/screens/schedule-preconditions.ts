import type {
  ActiveFreezeView,
  ChannelView,
  PackSummary,
  ReleaseView,
  ReleaseWhyView,
} from '@lockgate/api';
import { duration, packName, time } from '../ui/format.ts';

/**
 * What a scheduled release waits for before it starts, each with its state now, from what the
 * server returns: the release's status (`GET /releases/:id`, whose `why` the controller's own
 * checks compute), the freezes in effect (`GET /freezes`) and the channels and releases lists.
 *
 * - `met`: holds now; `waiting`: holds the start now; `info`: shown, not required by the server.
 * The upstream soak is `info`: the server does not require another channel to hold the pack
 * first, so the screen says where the pack already runs and for how long, and never claims it
 * holds the start.
 */
export type PreconditionState = 'met' | 'waiting' | 'info';

export interface Precondition {
  key: 'schedule' | 'freeze' | 'approvals' | 'data' | 'upstream';
  label: string;
  state: PreconditionState;
  text: string;
}

export const PRECONDITION_MARK: Record<PreconditionState, string> = {
  met: '✓',
  waiting: '○',
  info: 'ℹ',
};

export interface PreconditionInput {
  release: ReleaseView;
  why: ReleaseWhyView | null;
  /** every freeze in effect now, all environments */
  freezes: readonly ActiveFreezeView[];
  /** every channel, all environments */
  channels: readonly ChannelView[];
  /** releases, to date when another channel took the pack (its completed release) */
  releases: readonly ReleaseView[];
  packs: ReadonlyMap<string, PackSummary>;
  now: number;
}

export function preconditionsOf(input: PreconditionInput): Precondition[] {
  return [
    scheduleOf(input),
    freezeOf(input),
    approvalsOf(input),
    dataHealthOf(input),
    upstreamOf(input),
  ];
}

function scheduleOf({ release, why }: PreconditionInput): Precondition {
  const label = 'Time and window';
  if (release.state !== 'requested') {
    return { key: 'schedule', label, state: 'met', text: `started (${release.state})` };
  }
  const blocker = why?.blockers.find((b) => b.kind === 'schedule');
  return blocker === undefined
    ? { key: 'schedule', label, state: 'met', text: 'its time has come' }
    : { key: 'schedule', label, state: 'waiting', text: blocker.message };
}

function freezeOf({ release, why, freezes }: PreconditionInput): Precondition {
  const label = 'No freeze';
  const here = freezes
    .filter((f) => f.env === release.env)
    .map((f) => `${f.source} until ${time(f.until)}: ${f.reason}`);
  if (why?.freeze != null && here.length === 0) {
    here.push(
      `freeze window ${why.freeze.id} until ${time(why.freeze.until)}: ${why.freeze.reason}`,
    );
  }
  return here.length === 0
    ? { key: 'freeze', label, state: 'met', text: `no freeze holds ${release.env} now` }
    : { key: 'freeze', label, state: 'waiting', text: `frozen: ${here.join(' | ')}` };
}

function approvalsOf({ release, why }: PreconditionInput): Precondition {
  const label = 'Approvals';
  const approvals = why?.approvals ?? null;
  if (approvals === null) {
    const first = release.plan.stages[0];
    return {
      key: 'approvals',
      label,
      state: 'met',
      text: `none needed before stage 1${first === undefined ? '' : ` ${first.name}`}`,
    };
  }
  const have = approvals.approvers.length;
  const who = have === 0 ? '' : ` (${approvals.approvers.join(', ')})`;
  const where = `stage ${approvals.stage + 1} ${approvals.name}`;
  return have >= approvals.needed
    ? {
        key: 'approvals',
        label,
        state: 'met',
        text: `${have} of ${approvals.needed} in for ${where}${who}`,
      }
    : {
        key: 'approvals',
        label,
        state: 'waiting',
        text: `${have} of ${approvals.needed} in for ${where}${who}: waiting for ${approvals.needed - have} more`,
      };
}

function dataHealthOf({ release, why, channels, now }: PreconditionInput): Precondition {
  const label = 'Data health';
  const problems: string[] = [];
  if (why === null) problems.push('the server gave no status for the release');
  if (why !== null && why.refusals.targets > 0) {
    problems.push(
      `${why.refusals.targets} target(s) refused the pack: ${why.refusals.groups
        .map((g) => `${g.code} × ${g.targets}`)
        .join(', ')}`,
    );
  }
  if (why?.verification?.ok === false) {
    problems.push(
      `the pack does not verify: ${why.verification.reasons.map((r) => r.code ?? r.message).join(', ')}`,
    );
  }
  const channel = channels.find((c) => c.env === release.env && c.name === release.channel);
  let index = '';
  if (channel === undefined) {
    problems.push(`channel ${release.env}/${release.channel} not found`);
  } else {
    const expires = Date.parse(channel.updatedAt) + channel.indexTtlSeconds * 1000;
    const at = time(new Date(expires).toISOString());
    if (expires <= now)
      problems.push(`channel index version ${channel.indexVersion} expired ${at}`);
    else index = `; channel index version ${channel.indexVersion} valid until about ${at}`;
  }
  return problems.length === 0
    ? { key: 'data', label, state: 'met', text: `OK: no agent refusal of the pack${index}` }
    : { key: 'data', label, state: 'waiting', text: `WARN: ${problems.join(' | ')}` };
}

function upstreamOf({ release, channels, releases, packs, now }: PreconditionInput): Precondition {
  const label = 'Upstream soak';
  const name = packName(packs, release.pack);
  const holders = channels
    .filter(
      (c) => c.base === release.pack && !(c.env === release.env && c.name === release.channel),
    )
    .map((c) => {
      const took = releases
        .filter(
          (r) =>
            r.env === c.env &&
            r.channel === c.name &&
            r.pack === release.pack &&
            r.state === 'completed' &&
            r.outcome !== undefined,
        )
        .map((r) => Date.parse(r.outcome?.at ?? ''))
        .filter((ms) => Number.isFinite(ms))
        .sort((a, b) => b - a)[0];
      return took === undefined
        ? `${c.env}/${c.name}`
        : `${c.env}/${c.name} for ${duration((now - took) / 1000)} (since ${time(new Date(took).toISOString())})`;
    });
  const note = 'the server does not require it before the start';
  return {
    key: 'upstream',
    label,
    state: 'info',
    text:
      holders.length === 0
        ? `no other channel runs ${name} yet (${note})`
        : `${name} runs in ${holders.join(', ')} (${note})`,
  };
}
