/**
 * Which core decided. Every decision record the server writes carries `CORE_VERSION`, so a
 * replay that no longer matches after an upgrade says which core decided then and which one
 * replays now, instead of leaving a bare digest mismatch.
 *
 * `CORE_PACKAGE_VERSION` is the version of this package (`package.json`; a test holds them
 * equal). `DECIDE_REVISION` counts changes to the decision rules themselves (`decide`,
 * `applyCommand` and everything they call): raise it with any change that can make a recorded
 * decision replay to a different draft, even when the package version stays.
 */
export const CORE_PACKAGE_VERSION = '0.1.0';

/**
 * The revision of the decision rules; raise it when a recorded decision may replay differently.
 * 2: a context may carry stage measures (stage-rollup.ts) instead of the window's reports; a
 * core of revision 1 would not read them. Contexts without them decide exactly as in 1.
 * 3: drafts name their context by its head's digest (context-digest.ts: the context with its
 * target lists held by digest), not by the digest of the whole context; the rules are those of 2,
 * and a record of 2 replays to itself (it names the same context by its whole digest).
 */
export const DECIDE_REVISION = 3;

/** `<package version>+decide.<revision>`, e.g. `0.1.0+decide.1` (semver build metadata). */
export const CORE_VERSION = `${CORE_PACKAGE_VERSION}+decide.${DECIDE_REVISION}`;
