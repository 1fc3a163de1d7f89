import { useState } from 'react';
import { useLive } from '../app/live.tsx';
import { canAct, useConsole } from '../app/session.tsx';
import { ReasonAction } from '../ui/action.tsx';
import { shortDigest, time } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';

/** Packs: eligibility (build gates, signatures, revocation), provenance; revoke. */
export function PacksScreen() {
  const { client, session } = useConsole();
  const [open, setOpen] = useState<string | null>(null);
  const data = useLive(
    async () => {
      const [packs, revocations] = await Promise.all([client.packs(), client.revocations()]);
      return { packs: packs.items, revoked: new Map(revocations.items.map((r) => [r.pack, r])) };
    },
    [client],
    {
      pollMs: 5000,
      relevant: (event) => event.kind.startsWith('pack') || event.kind.startsWith('revocation'),
    },
  );
  return (
    <section aria-labelledby="packs-title">
      <h1 id="packs-title">Packs</h1>
      {data.status === 'loading' ? <p role="status">Loading packs…</p> : null}
      {data.status === 'error' ? <Refusal error={data.error} /> : null}
      {data.status === 'ready' && data.data.packs.length === 0 ? (
        <p role="status">No packs pushed yet.</p>
      ) : null}
      {data.status === 'ready' && data.data.packs.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th scope="col">Pack</th>
              <th scope="col">Digest</th>
              <th scope="col">Sequence</th>
              <th scope="col">Build</th>
              <th scope="col">Eligibility</th>
              <th scope="col">Pushed</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {data.data.packs.map((pack) => {
              const revocation = data.data.revoked.get(pack.digest);
              return (
                <tr key={pack.digest}>
                  <td>
                    <button
                      type="button"
                      className="linkish"
                      onClick={() => setOpen(open === pack.digest ? null : pack.digest)}
                      aria-expanded={open === pack.digest}
                    >
                      {pack.name}@{pack.version}
                    </button>
                    {open === pack.digest ? (
                      <PackDetail digest={pack.digest} buildId={pack.buildId} />
                    ) : null}
                  </td>
                  <td>
                    <code title={pack.digest}>{shortDigest(pack.digest)}</code>
                  </td>
                  <td>{pack.sequence}</td>
                  <td>{pack.buildId}</td>
                  <td>
                    {revocation === undefined
                      ? 'eligible (signed, build gates passed)'
                      : `revoked ${time(revocation.revokedAt)} by ${revocation.actor}: ${revocation.reason}`}
                  </td>
                  <td>{time(pack.pushedAt)}</td>
                  <td>
                    {canAct(session.role) && revocation === undefined ? (
                      <ReasonAction
                        label={`Revoke ${pack.name}@${pack.version}`}
                        danger
                        run={async (reason) => {
                          await client.revoke(pack.digest, reason);
                          data.reload();
                        }}
                      />
                    ) : null}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}
    </section>
  );
}

function PackDetail({ digest, buildId }: { digest: string; buildId: string }) {
  const { client } = useConsole();
  const detail = useLive(async () => {
    const manifest = await client.manifest(digest);
    const build = await client.build(buildId).then(
      (b) => b.build,
      () => null,
    );
    return { manifest: manifest.manifest, build };
  }, [client, digest, buildId]);
  if (detail.status === 'loading') return <p role="status">Loading provenance…</p>;
  if (detail.status === 'error') return <Refusal error={detail.error} />;
  const { manifest, build } = detail.data;
  const gates = build?.gates ?? manifest.provenance?.gates ?? [];
  return (
    <div className="pack-detail">
      <p>
        Provenance: build {manifest.provenance?.buildId ?? '—'}
        {manifest.provenance?.source?.repo === undefined
          ? ''
          : ` from ${manifest.provenance.source.repo}`}
        {manifest.provenance?.source?.commit === undefined
          ? ''
          : ` at ${manifest.provenance.source.commit}`}
        , created {time(manifest.provenance?.createdAt)}
      </p>
      <p>
        Build gates:{' '}
        {gates.length === 0
          ? 'none recorded'
          : gates.map((g) => `${g.name} ${g.status}`).join(', ')}
      </p>
      <p>
        Signatures: {(manifest.signatures ?? []).map((s) => s.keyId).join(', ') || 'none'} (verified
        against trusted build keys when pushed)
      </p>
    </div>
  );
}
