import { useState } from 'react';
import { useLive } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { ReasonAction } from '../ui/action.tsx';
import { packName, shortDigest, time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';

/** Every channel of every environment. */
export function ChannelsScreen() {
  const { client, packs } = useConsole();
  const list = useLive(
    async () => {
      const { items } = await client.environments();
      const details = await Promise.all(items.map((e) => client.environment(e.name)));
      return details.flatMap((d) => d.channels);
    },
    [client],
    { pollMs: 5000 },
  );
  return (
    <section aria-labelledby="channels-title">
      <h1 id="channels-title">Channels</h1>
      {list.status === 'loading' ? <p role="status">Loading channels…</p> : null}
      {list.status === 'error' ? <Refusal error={list.error} /> : null}
      {list.status === 'ready' && list.data.length === 0 ? (
        <p role="status">No channels yet.</p>
      ) : null}
      {list.status === 'ready' && list.data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Channel</th>
              <th scope="col">Base</th>
              <th scope="col">LKG</th>
              <th scope="col">Pins</th>
              <th scope="col">Floor</th>
              <th scope="col">Index</th>
              <th scope="col">Active release</th>
            </tr>
          </thead>
          <tbody>
            {list.data.map((c) => (
              <tr key={`${c.env}/${c.name}`}>
                <td>
                  <Link to={`/channels/${c.env}/${c.name}`}>
                    {c.env} / {c.name}
                  </Link>
                </td>
                <td>{packName(packs, c.base)}</td>
                <td>{packName(packs, c.lkg)}</td>
                <td>{c.pins.length}</td>
                <td>{c.floor ?? '—'}</td>
                <td>v{c.indexVersion}</td>
                <td>
                  {c.activeRelease === null ? (
                    '—'
                  ) : (
                    <Link to={`/releases/${c.activeRelease}`}>{c.activeRelease}</Link>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

/** One channel: base, LKG, pins (set and clear), floor, index version and expiry. */
export function ChannelScreen({ env, name }: { env: string; name: string }) {
  const { client, packs, session } = useConsole();
  const [pinPack, setPinPack] = useState('');
  const [pinFor, setPinFor] = useState('1h');
  const channel = useLive(() => client.channel(env, name), [client, env, name], {
    pollMs: 5000,
    relevant: (event) => event.env === env && event.channel === name,
  });
  if (channel.status === 'loading') return <p role="status">Loading channel…</p>;
  if (channel.status === 'error') return <Refusal error={channel.error} />;
  const c = channel.data.channel;
  const expires = new Date(Date.parse(c.updatedAt) + c.indexTtlSeconds * 1000).toISOString();
  return (
    <section aria-labelledby="channel-title">
      <h1 id="channel-title">
        Channel {c.env} / {c.name}
      </h1>
      <dl className="facts">
        <dt>Base</dt>
        <dd>
          {packName(packs, c.base)} <code>{shortDigest(c.base)}</code>
        </dd>
        <dt>LKG</dt>
        <dd>
          {packName(packs, c.lkg)} <code>{shortDigest(c.lkg)}</code>
        </dd>
        <dt>Floor</dt>
        <dd>{c.floor === null ? 'none' : `sequence ${c.floor}`}</dd>
        <dt>Index</dt>
        <dd>
          version {c.indexVersion}, signed {time(c.updatedAt)}, expires about {time(expires)} (TTL{' '}
          {c.indexTtlSeconds}s)
        </dd>
        <dt>Default plan</dt>
        <dd>{c.plan}</dd>
        <dt>Active release</dt>
        <dd>
          {c.activeRelease === null ? (
            'none'
          ) : (
            <Link to={`/releases/${c.activeRelease}`}>{c.activeRelease}</Link>
          )}
        </dd>
        <dt>Revoked</dt>
        <dd>
          {c.revoked.length === 0 ? 'none' : c.revoked.map((d) => packName(packs, d)).join(', ')}
        </dd>
      </dl>
      <h2>Pins</h2>
      {c.pins.length === 0 ? <p>No pins.</p> : null}
      <ul>
        {c.pins.map((pin) => (
          <li key={pin.cohort}>
            {pin.cohort === '_' ? 'whole channel' : `cohort ${pin.cohort}`} →{' '}
            {packName(packs, pin.pack)} until {time(pin.expiresAt)} by {pin.actor}: {pin.reason}{' '}
            {canAct(session.role) ? (
              <ReasonAction
                label={`Clear pin ${pin.cohort === '_' ? '' : pin.cohort}`.trim()}
                run={async (reason) => {
                  await client.clearPin(env, name, pin.cohort, reason);
                  channel.reload();
                }}
              />
            ) : null}
          </li>
        ))}
      </ul>
      {canAct(session.role) ? (
        <div className="pin-form">
          <label>
            Pin the whole channel to pack (digest or name@version){' '}
            <input value={pinPack} onChange={(e) => setPinPack(e.target.value)} />
          </label>
          <label>
            for <input value={pinFor} onChange={(e) => setPinFor(e.target.value)} size={6} />
          </label>
          <ReasonAction
            label="Set pin"
            run={async (reason) => {
              await client.setPin(env, name, '_', { pack: pinPack, reason, expiresIn: pinFor });
              channel.reload();
            }}
          />
        </div>
      ) : null}
      <p>
        <Link to={`/targets?env=${env}&channel=${name}`}>Targets of this channel</Link> ·{' '}
        <Link to={`/releases?env=${env}&channel=${name}`}>Releases of this channel</Link>
      </p>
    </section>
  );
}
