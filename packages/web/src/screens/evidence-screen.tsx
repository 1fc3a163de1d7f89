import { useState } from 'react';
import type { ReleaseEvidenceView } from '@lockgate/api';
import { TERMINAL_STATES } from '../api/vocabulary.ts';
import { useLive } from '../app/live.tsx';
import { Link } from '../app/router.tsx';
import { useConsole } from '../app/session.tsx';
import { saveFile } from '../ui/download.ts';
import { packName, shortDigest } from '../ui/format.ts';
import { Refusal } from '../ui/refusal.tsx';
import {
  attestationWords,
  buildKeyFile,
  EVIDENCE_STATUS_SYMBOL,
  EVIDENCE_STATUS_WORD,
  gateWords,
  LOG_KEY_FILE,
  verifyCommand,
} from './evidence-model.ts';

/**
 * Evidence Timeline: per checkpoint of the run, what is sealed in the log and what is pending;
 * the bundle to download once the release ended, and the command that verifies it offline.
 */
export function EvidenceScreen({ id }: { id: string }) {
  const { client } = useConsole();
  // A record is sealed when a checkpoint covers it, which writes no change event: poll too.
  const evidence = useLive(() => client.evidence(id), [client, id], {
    pollMs: 2000,
    relevant: (event) => event.release === id,
  });
  const href = `/releases/${encodeURIComponent(id)}`;
  if (evidence.status === 'loading') return <p role="status">Loading the evidence of {id}…</p>;
  if (evidence.status === 'error') {
    return (
      <section aria-labelledby="evidence-title">
        <h1 id="evidence-title">Evidence of {id}</h1>
        <Refusal error={evidence.error} />
      </section>
    );
  }
  const data = evidence.data;
  return (
    <section aria-labelledby="evidence-title">
      <h1 id="evidence-title">
        Evidence of <Link to={href}>{id}</Link>
      </h1>
      <EvidenceSummary data={data} />
      {evidence.error === undefined ? null : <Refusal error={evidence.error} />}
      <h2>Checkpoints</h2>
      <table>
        <caption>What each checkpoint of the run has sealed in the log</caption>
        <thead>
          <tr>
            <th scope="col">Checkpoint</th>
            <th scope="col">Status</th>
            <th scope="col">Records</th>
            <th scope="col">Recorded</th>
          </tr>
        </thead>
        <tbody>
          {data.checkpoints.map((checkpoint) => (
            <tr key={checkpoint.name} className={`evidence-${checkpoint.status}`}>
              <th scope="row">
                {checkpoint.name}
                {checkpoint.stage === undefined ? '' : ` (${checkpoint.stage})`}
              </th>
              <td>
                <span aria-hidden="true">{EVIDENCE_STATUS_SYMBOL[checkpoint.status]}</span>{' '}
                {EVIDENCE_STATUS_WORD[checkpoint.status]}
              </td>
              <td className="wrap">
                {checkpoint.records.length === 0
                  ? '—'
                  : checkpoint.records.map((r) => (
                      <span key={r.seq} className={`record record-${r.status}`}>
                        <Link to={`${href}/steps/${r.seq}?tab=evidence`}>
                          #{r.seq} {r.rule}
                        </Link>{' '}
                        ({r.status}){' '}
                      </span>
                    ))}
              </td>
              <td className="wrap">
                {[
                  ...(checkpoint.gates ?? []).map(gateWords),
                  attestationWords(checkpoint.attestation),
                  checkpoint.outcome === undefined ? '' : `outcome ${checkpoint.outcome}`,
                ]
                  .filter((line) => line !== '')
                  .join('; ') || '—'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ExportBundle data={data} />
    </section>
  );
}

function EvidenceSummary({ data }: { data: ReleaseEvidenceView }) {
  const { packs } = useConsole();
  return (
    <>
      <div
        className={`banner ${data.sealed ? 'ok' : 'warn'}`}
        role="status"
        aria-label="Seal"
        aria-live="polite"
      >
        {data.sealed
          ? `Sealed: every record of the release is in the log and covered by a signed checkpoint.`
          : `Not sealed yet. Pending: ${data.pending.join(', ') || 'the seal'}.`}
      </div>
      <dl className="facts">
        <dt>Pack</dt>
        <dd>
          {packName(packs, data.pack)} <code title={data.pack}>{shortDigest(data.pack)}</code>
        </dd>
        <dt>State</dt>
        <dd>{data.state}</dd>
        <dt>Log</dt>
        <dd>
          <code>{data.log.origin}</code>, latest checkpoint at size {data.log.checkpointSize}
        </dd>
        <dt>Seal</dt>
        <dd>
          {data.seal === null ? (
            'not yet (the release has not ended)'
          ) : (
            <>
              record #{data.seal.seq} names {data.seal.count} records, records digest{' '}
              <code title={data.seal.recordsDigest}>{shortDigest(data.seal.recordsDigest)}</code>
            </>
          )}
        </dd>
      </dl>
    </>
  );
}

function ExportBundle({ data }: { data: ReleaseEvidenceView }) {
  const { client } = useConsole();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState<string | null>(null);
  const keys = useLive(async () => {
    const [log, trusted] = await Promise.all([client.logKey(), client.trustedKeys()]);
    return { log, trusted: trusted.items };
  }, [client]);
  const ended = (TERMINAL_STATES as readonly string[]).includes(data.state);
  const bundle = `${data.release}.evidence.tar.gz`;
  const download = async (): Promise<void> => {
    setBusy(true);
    setError(null);
    try {
      const { blob, filename } = await client.evidenceBundle(data.release);
      saveFile(blob, filename);
      setSaved(`${filename} (${blob.size} bytes)`);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <h2>Export the bundle</h2>
      <p>
        The bundle holds the release&apos;s signed records, their inclusion proofs, a signed
        checkpoint and the pack manifests; it verifies with no server.
      </p>
      <p className="action">
        <button type="button" disabled={busy || !ended} onClick={() => void download()}>
          Download evidence bundle
        </button>{' '}
        {ended ? null : (
          <span>The bundle exists once the release has ended (it is {data.state} now).</span>
        )}
        {saved === null ? null : <span role="status">Downloaded {saved}.</span>}
      </p>
      <Refusal error={error} />
      <h2>Verify it offline</h2>
      {keys.status === 'loading' ? <p role="status">Loading the keys…</p> : null}
      {keys.status === 'error' ? <Refusal error={keys.error} /> : null}
      {keys.status === 'ready' ? (
        <>
          <p>
            Bring the keys you trust, obtained out of band; the ones this server reports are here to
            compare with: the log&apos;s verifier key{' '}
            <button
              type="button"
              className="linkish"
              onClick={() =>
                saveFile(
                  new Blob([`${keys.data.log.verifierKey}\n`], { type: 'text/plain' }),
                  LOG_KEY_FILE,
                )
              }
            >
              {LOG_KEY_FILE}
            </button>{' '}
            (<code>{keys.data.log.verifierKey}</code>)
            {keys.data.trusted.length === 0 ? '' : ' and the trusted build keys '}
            {keys.data.trusted.map((k) => (
              <span key={k.keyId}>
                <button
                  type="button"
                  className="linkish"
                  onClick={() =>
                    saveFile(
                      new Blob([k.publicKeyPem], { type: 'application/x-pem-file' }),
                      buildKeyFile(k),
                    )
                  }
                >
                  {buildKeyFile(k)}
                </button>{' '}
              </span>
            ))}
            .
          </p>
          <pre aria-label="Offline verification command">
            <code>{verifyCommand(bundle, keys.data.trusted)}</code>
          </pre>
          <p>
            It exits 0 and prints <code>bundle of {data.release}: ok</code> when every record is
            signed, included in the checkpoint and named by the seal; otherwise it exits 1 with the
            code of the first check that failed. <code>docs/verify-bundle.py</code> does the same
            with Python and openssl only.
          </p>
        </>
      ) : null}
    </>
  );
}
