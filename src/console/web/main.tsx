// The console's front end: a shell with navigation (hash routes, so the
// server serves one page), the live-update indicator and logout, and one page
// per noun. Started by the script tag of the shell the server writes.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './app.css';
import { csrfToken } from './api.js';
import { startLive, useLiveState } from './live.js';
import { Dashboard } from './pages/dashboard.js';
import { Events } from './pages/events.js';
import { Hosts } from './pages/hosts.js';
import { Lds } from './pages/lds.js';
import { Paths } from './pages/paths.js';
import { Perf } from './pages/perf.js';
import { Pools } from './pages/pools.js';
import { Replication } from './pages/replication.js';
import { VvolInfo, VvolVmBackup, VvolVmList } from './pages/vvol.js';

const NAV: Array<[string, string]> = [
  ['#/dashboard', 'Dashboard'],
  ['#/pools', 'Pools'],
  ['#/lds', 'Logical disks'],
  ['#/hosts', 'Hosts and LUNs'],
  ['#/replication', 'Snapshots and pairs'],
  ['#/paths', 'Paths'],
  ['#/events', 'Events'],
  ['#/perf', 'Performance'],
  ['#/vvol/vms', 'VVOL: VM list'],
  ['#/vvol/info', 'VVOL: information'],
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/dashboard');
  useEffect(() => {
    const on = () => setHash(location.hash || '#/dashboard');
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return hash;
}

function Page({ hash }: { hash: string }) {
  const vm = /^#\/vvol\/vm\/(.+)$/.exec(hash);
  if (vm) return <VvolVmBackup vm={decodeURIComponent(vm[1]!)} />;
  switch (hash) {
    case '#/pools':
      return <Pools />;
    case '#/lds':
      return <Lds />;
    case '#/hosts':
      return <Hosts />;
    case '#/replication':
      return <Replication />;
    case '#/paths':
      return <Paths />;
    case '#/events':
      return <Events />;
    case '#/perf':
      return <Perf />;
    case '#/vvol/vms':
      return <VvolVmList />;
    case '#/vvol/info':
      return <VvolInfo />;
    default:
      return <Dashboard />;
  }
}

function App() {
  const hash = useHash();
  const live = useLiveState();
  const current = hash.startsWith('#/vvol/vm/') ? '#/vvol/vms' : hash;
  useEffect(() => {
    // Keyboard and screen-reader users land on the new page's heading.
    document.querySelector<HTMLElement>('main h1')?.focus();
  }, [hash]);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <strong>Kura console</strong>
        <span class={`live live-${live}`} role="status" aria-live="polite" id="live-state">
          {live === 'live' ? 'Live' : live === 'connecting' ? 'Connecting…' : 'Reconnecting…'}
        </span>
        <form method="post" action="/logout" class="logout">
          <input type="hidden" name="csrf" value={csrfToken} />
          <button type="submit">Log out</button>
        </form>
      </header>
      <div class="layout">
        <nav aria-label="Console pages">
          <ul>
            {NAV.map(([href, label]) => (
              <li key={href}>
                <a href={href} aria-current={current === href ? 'page' : undefined}>
                  {label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <main id="main" tabIndex={-1}>
          <Page hash={hash} />
        </main>
      </div>
    </>
  );
}

startLive();
const root = document.getElementById('app')!;
// The shell's "Loading" line goes: render keeps what it finds in the container.
root.textContent = '';
render(<App />, root);
