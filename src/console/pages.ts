// The two pages the server writes itself: the login form (plain HTML, works
// without script) and the shell the bundled front end runs in, which carries
// the session's CSRF token. Every value put into them is escaped.
import { escapeHtml } from './http-guard.js';

function page(title: string, body: string, head = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="/assets/app.css">
<link rel="icon" href="data:,">
${head}</head>
<body>
${body}
</body>
</html>
`;
}

/** The login form: one field, the API token, posted to /login. */
export function loginPage(opts: { error?: string; array?: string } = {}): string {
  const err = opts.error ? `<p class="error" role="alert" id="login-error">${escapeHtml(opts.error)}</p>` : '';
  return page(
    'Kura console: log in',
    `<main class="login">
<h1>Kura console</h1>
${opts.array ? `<p class="muted">Array ${escapeHtml(opts.array)}</p>` : ''}
<form method="post" action="/login" autocomplete="off">
<label for="token">API token</label>
<input id="token" name="token" type="password" required autofocus maxlength="512" aria-describedby="token-help${err ? ' login-error' : ''}">
<p id="token-help" class="muted">The token in DATA/admin.token of the server (the same one the kura CLI uses).</p>
${err}
<button type="submit">Log in</button>
</form>
</main>`,
  );
}

/** The shell of the front end; the script reads the CSRF token from the meta tag. */
export function appShell(csrf: string): string {
  return page(
    'Kura console',
    `<div id="app"><p class="muted">Loading the console…</p></div>
<noscript><p>The Kura console needs JavaScript; the kura CLI and the REST API work without it.</p></noscript>
<script type="module" src="/assets/app.js"></script>`,
    `<meta name="kura-csrf" content="${escapeHtml(csrf)}">\n`,
  );
}
