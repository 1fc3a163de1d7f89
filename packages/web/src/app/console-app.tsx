import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiClient } from '../api/client.ts';
import type { ConsoleSessionView, PackSummary } from '@lockgate/api';
import { AuditScreen } from '../screens/audit-screen.tsx';
import { ChannelScreen, ChannelsScreen } from '../screens/channels-screen.tsx';
import { EvidenceScreen } from '../screens/evidence-screen.tsx';
import { PacksScreen } from '../screens/packs-screen.tsx';
import { ReleasesScreen } from '../screens/releases-screen.tsx';
import { ReplayScreen } from '../screens/replay-screen.tsx';
import { RollbackScreen } from '../screens/rollback-screen.tsx';
import { RunScreen } from '../screens/run-screen.tsx';
import { ScheduleScreen } from '../screens/schedule-screen.tsx';
import { SignInScreen } from '../screens/sign-in-screen.tsx';
import { StageScreen } from '../screens/stage-screen.tsx';
import { StepScreen } from '../screens/step-screen.tsx';
import { TargetsScreen } from '../screens/targets-screen.tsx';
import { LiveContext, useEventStream, useLive } from './live.tsx';
import { Link, matchPath, navigate, useLocation } from './router.tsx';
import { SessionContext, TOKEN_KEY } from './session.tsx';

const NAV = [
  ['/releases', 'Releases'],
  ['/channels', 'Channels'],
  ['/targets', 'Targets'],
  ['/packs', 'Packs'],
  ['/schedule', 'Schedule'],
  ['/audit', 'Audit log'],
] as const;

/** The screen of a path; each screen is a URL that can be shared. */
function Screen({ path }: { path: string }) {
  let p: Record<string, string> | null;
  if ((p = matchPath('/releases/:id/stages/:index', path)) !== null) {
    return <StageScreen id={p['id'] ?? ''} index={Number(p['index'])} />;
  }
  if ((p = matchPath('/releases/:id/steps/:seq', path)) !== null) {
    return <StepScreen id={p['id'] ?? ''} seq={Number(p['seq'])} />;
  }
  if ((p = matchPath('/releases/:id/rollback', path)) !== null) {
    return <RollbackScreen id={p['id'] ?? ''} />;
  }
  if ((p = matchPath('/releases/:id/evidence', path)) !== null) {
    return <EvidenceScreen id={p['id'] ?? ''} />;
  }
  if ((p = matchPath('/releases/:id/replay', path)) !== null) {
    return <ReplayScreen id={p['id'] ?? ''} />;
  }
  if ((p = matchPath('/releases/:id', path)) !== null) return <RunScreen id={p['id'] ?? ''} />;
  if ((p = matchPath('/channels/:env/:channel', path)) !== null) {
    return <ChannelScreen env={p['env'] ?? ''} name={p['channel'] ?? ''} />;
  }
  if (path === '/channels') return <ChannelsScreen />;
  if (path === '/targets') return <TargetsScreen />;
  if (path === '/packs') return <PacksScreen />;
  if (path === '/audit') return <AuditScreen />;
  if (path === '/schedule') return <ScheduleScreen />;
  return <ReleasesScreen />;
}

function SignedIn(props: { token: string; session: ConsoleSessionView; signOut: () => void }) {
  const { token, session, signOut } = props;
  const client = useMemo(() => new ApiClient(token), [token]);
  const live = useEventStream(token);
  const { path } = useLocation();
  const packs = useLive(() => client.packs(), [client], {
    pollMs: 10_000,
    relevant: (event) => event.kind.startsWith('pack'),
  });
  const byDigest = useMemo(
    () =>
      new Map<string, PackSummary>(
        packs.status === 'ready' ? packs.data.items.map((p) => [p.digest, p]) : [],
      ),
    [packs],
  );
  const context = useMemo(
    () => ({ client, session, packs: byDigest, signOut }),
    [client, session, byDigest, signOut],
  );
  return (
    <SessionContext.Provider value={context}>
      <LiveContext.Provider value={live}>
        <a className="skip" href="#main">
          Skip to content
        </a>
        <header className="top">
          <span className="brand">Lockgate</span>
          <nav aria-label="Console">
            {NAV.map(([to, label]) => (
              <Link key={to} to={to} aria-current={path.startsWith(to) ? 'page' : undefined}>
                {label}
              </Link>
            ))}
          </nav>
          <span className="who">
            {session.name} ({session.role}) · {live.connected ? 'live' : 'polling'}{' '}
            <button type="button" onClick={signOut}>
              Sign out
            </button>
          </span>
        </header>
        <main id="main">
          <Screen path={path} />
        </main>
      </LiveContext.Provider>
    </SessionContext.Provider>
  );
}

/** Signs in (token in session storage), then shows the screen of the URL. */
export function ConsoleApp() {
  const [auth, setAuth] = useState<{ token: string; session: ConsoleSessionView } | null>(null);
  // A stored token is checked before anything is shown; a sign-in link's code goes to sign-in.
  const [checking, setChecking] = useState(
    () =>
      window.sessionStorage.getItem(TOKEN_KEY) !== null && !window.location.hash.includes('code='),
  );
  useEffect(() => {
    const token = window.sessionStorage.getItem(TOKEN_KEY);
    if (token === null || window.location.hash.includes('code=')) return;
    new ApiClient(token)
      .session()
      .then((session) => setAuth({ token, session }))
      .catch(() => window.sessionStorage.removeItem(TOKEN_KEY))
      .finally(() => setChecking(false));
  }, []);
  const onSignedIn = useCallback((token: string, session: ConsoleSessionView) => {
    window.sessionStorage.setItem(TOKEN_KEY, token);
    setAuth({ token, session });
    if (window.location.pathname === '/sign-in' || window.location.pathname === '/') {
      navigate('/releases', { replace: true });
    }
  }, []);
  const signOut = useCallback(() => {
    window.sessionStorage.removeItem(TOKEN_KEY);
    setAuth(null);
    navigate('/sign-in', { replace: true });
  }, []);
  if (checking) return <p role="status">Loading…</p>;
  if (auth === null) return <SignInScreen onSignedIn={onSignedIn} />;
  return <SignedIn token={auth.token} session={auth.session} signOut={signOut} />;
}
