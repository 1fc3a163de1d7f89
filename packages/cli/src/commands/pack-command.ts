import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import {
  createSignedManifest,
  parsePrivateKey,
  parsePublicKey,
  verifyPackArchive,
  writePackArchive,
} from '@lockgate/core';
import type { GateResult, PackManifest, PackProvenance } from '@lockgate/core';
import { itemsOf, objectField } from '../api-client.ts';
import type { ApiClient } from '../api-client.ts';
import type { PackSummary, RevocationView } from '@lockgate/api';
import { writeFileAtomic } from '../atomic-write.ts';
import { UsageError } from '../cli-error.ts';
import {
  addJsonOption,
  addServerOptions,
  clientFor,
  readInputFile,
  resolvePath,
} from '../command-context.ts';
import type { CommandContext, JsonOption, ServerOptions } from '../command-context.ts';
import {
  collectGate,
  collectPair,
  collectString,
  parseDigestValue,
  parseLimit,
  parsePackRef,
  parseReason,
  parseSequence,
} from '../option-values.ts';
import { printResult } from '../output.ts';
import { packFileChunks, readPackSource } from '../pack-source.ts';

/** The sequence a pack gets when --sequence is not given. */
export const DEFAULT_SEQUENCE = 1;

interface BuildOptions extends JsonOption {
  name: string;
  version: string;
  key: string[];
  sequence: number;
  gate?: GateResult[];
  requires?: Record<string, string>;
  role?: Record<string, string>;
  buildId?: string;
  sourceRepo?: string;
  sourceCommit?: string;
  out: string;
}

interface VerifyOptions extends JsonOption {
  trust: string[];
}

interface RevokeOptions extends ServerOptions {
  reason: string;
}

interface ListOptions extends ServerOptions {
  name?: string;
  limit?: number;
}

function sourceOf(repo: string | undefined, commit: string | undefined): PackProvenance['source'] {
  if (repo === undefined && commit === undefined) {
    return undefined;
  }
  return { ...(repo === undefined ? {} : { repo }), ...(commit === undefined ? {} : { commit }) };
}

/**
 * Builds a signed pack file from a directory. The gates are checked by core before anything
 * is signed: a gate that did not pass (or no gate at all) means exit 1 and no file.
 */
export async function buildPack(
  context: CommandContext,
  dirArgument: string,
  options: BuildOptions,
): Promise<void> {
  const files = await readPackSource(resolvePath(context, dirArgument));
  const roles = options.role ?? {};
  for (const [path, role] of Object.entries(roles)) {
    const file = files.find((candidate) => candidate.path === path);
    if (file === undefined) {
      throw new UsageError(`--role names ${path}, which is not a file in ${dirArgument}`);
    }
    file.role = role;
  }

  const signers = [];
  for (const keyPath of options.key) {
    const pem = (await readInputFile(context, keyPath, 'private key')).toString('utf8');
    signers.push(parsePrivateKey(pem).key);
  }

  const source = sourceOf(options.sourceRepo, options.sourceCommit);
  const provenance: PackProvenance = {
    buildId: options.buildId ?? `build-${randomUUID()}`,
    createdAt: context.io.now().toISOString(),
    gates: options.gate ?? [],
    ...(source === undefined ? {} : { source }),
  };
  const { manifest, digest } = createSignedManifest(
    {
      name: options.name,
      version: options.version,
      sequence: options.sequence,
      files,
      requires: options.requires ?? {},
      provenance,
    },
    signers,
  );
  const archive = await writePackArchive(
    manifest,
    new Map(files.map((file) => [file.path, file.bytes])),
    { gzip: true },
  );
  const out = resolvePath(context, options.out);
  await writeFileAtomic(out, archive);

  printResult(
    context.io,
    options.json === true,
    `built ${manifest.name}@${manifest.version} (sequence ${manifest.sequence})\ndigest ${digest}\nfile   ${out}`,
    {
      name: manifest.name,
      version: manifest.version,
      sequence: manifest.sequence,
      digest,
      buildId: manifest.provenance.buildId,
      file: out,
    },
  );
}

/**
 * Verifies a pack file offline against the given trusted public keys, with the check the
 * server runs on push (core's verifyPackArchive): what it refuses, this refuses with the same
 * code. The file is streamed, never inflated whole in memory.
 */
export async function verifyPackFile(
  context: CommandContext,
  fileArgument: string,
  options: VerifyOptions,
): Promise<void> {
  const trustedKeys = [];
  for (const keyPath of options.trust) {
    const pem = (await readInputFile(context, keyPath, 'public key')).toString('utf8');
    trustedKeys.push(parsePublicKey(pem));
  }
  const verified = await verifyPackArchive(
    packFileChunks(resolvePath(context, fileArgument), fileArgument),
    { trustedKeys },
  );
  const { manifest } = verified;
  printResult(
    context.io,
    options.json === true,
    `verified ${manifest.name}@${manifest.version} (sequence ${manifest.sequence})\ndigest ${verified.digest}\nsigned by ${verified.signedBy.join(', ')}`,
    {
      name: manifest.name,
      version: manifest.version,
      sequence: manifest.sequence,
      digest: verified.digest,
      signedBy: verified.signedBy,
    },
  );
}

function summaryLine(pack: PackSummary, revoked?: RevocationView): string {
  return `${pack.name}@${pack.version}  sequence ${pack.sequence}  ${pack.digest}  pushed ${pack.pushedAt}${
    revoked === undefined ? '' : `  REVOKED ${revoked.revokedAt}: ${revoked.reason}`
  }`;
}

/** The server's revocations by pack digest. */
async function revocationsOf(client: ApiClient): Promise<Map<string, RevocationView>> {
  const response = await client.request('GET', '/api/v1/revocations');
  return new Map(itemsOf<RevocationView>(response.body).map((r) => [r.pack, r]));
}

/** A revoked pack in JSON carries `revoked: {reason, actor, revokedAt}`; others are unchanged. */
function withRevocation<T extends { digest: string }>(
  pack: T,
  revocations: ReadonlyMap<string, RevocationView>,
): T | (T & { revoked: Omit<RevocationView, 'pack'> }) {
  const revocation = revocations.get(pack.digest);
  if (revocation === undefined) return pack;
  const { pack: _digest, ...revoked } = revocation;
  return { ...pack, revoked };
}

export async function pushPack(
  context: CommandContext,
  fileArgument: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const bytes = await readInputFile(context, fileArgument, 'pack file');
  const response = await client.request('POST', '/api/v1/packs', { bytes });
  const pack = response.body as PackSummary;
  const created = response.status === 201;
  printResult(
    context.io,
    options.json === true,
    `${created ? 'pushed' : 'already stored'} ${pack.name}@${pack.version}\ndigest ${pack.digest}`,
    { ...pack, created },
  );
}

export async function listPacks(context: CommandContext, options: ListOptions): Promise<void> {
  const client = clientFor(context, options);
  const revocations = await revocationsOf(client);
  const response = await client.request('GET', '/api/v1/packs', {
    query: { name: options.name, limit: options.limit },
  });
  const items = itemsOf<PackSummary>(response.body);
  printResult(
    context.io,
    options.json === true,
    items.length === 0
      ? 'no packs'
      : items.map((pack) => summaryLine(pack, revocations.get(pack.digest))).join('\n'),
    { items: items.map((pack) => withRevocation(pack, revocations)) },
  );
}

export async function showPack(
  context: CommandContext,
  ref: string,
  options: ServerOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request('GET', `/api/v1/packs/${encodeURIComponent(ref)}/manifest`);
  const pack = objectField<PackSummary>(response.body, 'pack');
  const manifest = objectField<PackManifest>(response.body, 'manifest');
  const revocation = (await revocationsOf(client)).get(pack.digest);
  const lines = [
    `${pack.name}@${pack.version}  sequence ${pack.sequence}${revocation === undefined ? '' : '  REVOKED'}`,
    `digest  ${pack.digest}`,
    ...(revocation === undefined
      ? []
      : [
          `revoked ${revocation.revokedAt} by ${revocation.actor}: ${revocation.reason} (never released or served again)`,
        ]),
    `build   ${pack.buildId}`,
    `created ${pack.createdAt}`,
    `pushed  ${pack.pushedAt}`,
    `files:`,
    ...manifest.files.map(
      (file) =>
        `  ${file.path}  ${file.size} bytes${file.role === undefined ? '' : `  ${file.role}`}`,
    ),
    `gates:`,
    ...manifest.provenance.gates.map((gate) => `  ${gate.name} ${gate.status}`),
    `signed by: ${manifest.signatures.map((signature) => signature.keyId).join(', ')}`,
  ];
  printResult(context.io, options.json === true, lines.join('\n'), {
    pack: withRevocation(
      pack,
      new Map(revocation === undefined ? [] : [[pack.digest, revocation]]),
    ),
    manifest,
  });
}

/** Revokes a pack: it leaves every channel index and can no longer be released. */
export async function revokePack(
  context: CommandContext,
  digest: string,
  options: RevokeOptions,
): Promise<void> {
  const client = clientFor(context, options);
  const response = await client.request(
    'POST',
    `/api/v1/packs/${encodeURIComponent(digest)}/revoke`,
    { json: { reason: options.reason } },
  );
  const body = response.body as { revoked?: unknown };
  const revoked = typeof body.revoked === 'string' ? body.revoked : digest;
  printResult(context.io, options.json === true, `revoked ${revoked}`, response.body);
}

export function registerPackCommands(program: Command, context: CommandContext): void {
  const pack = program.command('pack').description('build, verify, push and inspect packs');

  addJsonOption(
    pack
      .command('build')
      .description('build and sign a pack file from the regular files under DIR')
      .argument('<DIR>', 'directory whose files become the pack')
      .requiredOption('--name <NAME>', 'pack name')
      .requiredOption('--version <VERSION>', 'pack version (semver)')
      .requiredOption(
        '--key <FILE>',
        'private signing key (PEM); repeat to sign twice',
        collectString,
      )
      .option(
        '--sequence <N>',
        'monotonic release counter (whole number)',
        parseSequence,
        DEFAULT_SEQUENCE,
      )
      .option(
        '--gate <NAME=STATUS>',
        'a build gate result (PASS, FAIL, ERROR, SKIP); repeat',
        collectGate,
      )
      .option(
        '--requires <KEY=VALUE>',
        'a runtime requirement, e.g. runtime=>=2.3; repeat',
        collectPair,
      )
      .option('--role <PATH=ROLE>', 'the role of one file; repeat', collectPair)
      .option('--build-id <ID>', 'build id (default: a generated build-<uuid>)')
      .option('--source-repo <REPO>', 'source repository of the build')
      .option('--source-commit <COMMIT>', 'source commit of the build')
      .requiredOption('--out <FILE>', 'pack file to write'),
  ).action((dir: string, options: BuildOptions) => buildPack(context, dir, options));

  addJsonOption(
    pack
      .command('verify')
      .description('verify a pack file offline: manifest, digest, signatures and every file')
      .argument('<FILE>', 'pack file')
      .requiredOption('--trust <PUBKEY>', 'trusted public key (PEM); repeat', collectString),
  ).action((file: string, options: VerifyOptions) => verifyPackFile(context, file, options));

  addServerOptions(
    pack
      .command('push')
      .description('upload a pack file to the server (idempotent)')
      .argument('<FILE>', 'pack file'),
  ).action((file: string, options: ServerOptions) => pushPack(context, file, options));

  addServerOptions(
    pack
      .command('list')
      .description('list packs stored on the server')
      .option('--name <NAME>', 'only packs with this name')
      .option('--limit <N>', 'at most N packs (1-1000)', parseLimit),
  ).action((options: ListOptions) => listPacks(context, options));

  addServerOptions(
    pack
      .command('show')
      .description('show a stored pack and its manifest')
      .argument('<REF>', 'pack digest (sha256:...) or NAME@VERSION', parsePackRef),
  ).action((ref: string, options: ServerOptions) => showPack(context, ref, options));

  addServerOptions(
    pack
      .command('revoke')
      .description('revoke a pack: it leaves every channel index and can no longer be released')
      .argument('<DIGEST>', 'pack digest (sha256:...)', parseDigestValue)
      .requiredOption('--reason <TEXT>', 'why the pack is revoked', parseReason),
  ).action((digest: string, options: RevokeOptions) => revokePack(context, digest, options));
}
