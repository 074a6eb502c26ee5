/**
 * The web console's HTML (ADR 0028): server-rendered, no build step, one small inline script
 * that swaps the live part of the page when the server pushes a new rendering (server-sent
 * events). Plain forms and links everywhere else, so every action works from the keyboard;
 * tables scroll sideways on a phone and the layout widens on a large screen.
 */
import type { KeyListing } from '../../application/console/cluster-console.js';
import type { ClusterView, ConsoleView, ServerView, ShardView } from '../../application/console/console-view.js';
import type { JournalEntry } from '../../application/console/cluster-journal.js';
import type { RecordView } from '../../application/ports/key-reader.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}
const e = escapeHtml;

function time(ms: number | undefined): string {
  if (ms === undefined) return '—';
  const iso = new Date(ms).toISOString();
  return `<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')}Z</time>`;
}

function duration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s} s` : `${Math.round(s / 60)} min`;
}

const STYLE = `
*{box-sizing:border-box}
body{margin:0;font:15px/1.4 system-ui,sans-serif;color:#1b1b1b;background:#f6f7f9}
header{display:flex;flex-wrap:wrap;gap:.5rem 1.5rem;align-items:baseline;padding:.75rem 1rem;background:#1f3a5f;color:#fff}
header h1{font-size:1.1rem;margin:0}
header a{color:#fff}
nav{display:flex;gap:1rem}
main{padding:.5rem 1rem 2rem;display:grid;gap:1rem;grid-template-columns:minmax(0,1fr)}
#live{display:grid;gap:1rem;grid-template-columns:minmax(0,1fr)}
@media (min-width:1100px){#live{grid-template-columns:minmax(0,3fr) minmax(0,2fr)}#live>.wide{grid-column:1/-1}}
section{background:#fff;border:1px solid #d8dde3;border-radius:6px;padding:.5rem .75rem}
h2{font-size:1rem;margin:.25rem 0 .5rem}
h3{font-size:.95rem;margin:.75rem 0 .25rem}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e7eaee;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;min-width:14rem}
.up{color:#0a6b2b;font-weight:600}.down{color:#b00020;font-weight:600}.unknown{color:#666}
.muted{color:#666}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #f5a623;outline-offset:1px}
form{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
label{display:flex;flex-direction:column;font-size:.85rem}
input,select,button{font:inherit;padding:.35rem .5rem}
@media (max-width:700px){
table.cards thead{display:none}
table.cards tr{display:block;border-bottom:1px solid #d8dde3;padding:.35rem 0}
table.cards td{display:flex;gap:.75rem;border:0;padding:.1rem .25rem;white-space:normal;word-break:break-word;min-width:0}
table.cards td::before{content:attr(data-label);flex:0 0 6.5rem;font-weight:600;color:#444}
}
pre{white-space:pre-wrap;word-break:break-all;background:#f0f2f5;padding:.5rem;border-radius:4px}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem}dt{font-weight:600}
.error{color:#b00020}
`;

export const SCRIPT = `
(function(){
  var live=document.getElementById('live'),state=document.getElementById('conn');
  if(!live||!window.EventSource)return;
  var es=new EventSource('events');
  es.onmessage=function(m){live.innerHTML=JSON.parse(m.data);state.textContent='live';};
  es.onerror=function(){
    if(es.readyState===2){state.innerHTML='disconnected: <a href="login">log in again</a> or reload';}
    else state.textContent='reconnecting…';
  };
})();
`;

export interface PageChrome {
  /** Who is logged in (shown with a logout button when by token). */
  readonly principal?: string | undefined;
  readonly loggedInByToken?: boolean | undefined;
}

export function document(title: string, body: string, chrome: PageChrome = {}, script = false): string {
  const who = chrome.principal
    ? `<span>${e(chrome.principal)}</span>${chrome.loggedInByToken ? '<form method="post" action="logout"><button type="submit">Log out</button></form>' : ''}`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${e(title)}</title><style>${STYLE}</style></head>
<body><header><h1>oxia-ts console</h1><nav><a href="./" accesskey="c">Cluster</a><a href="keys" accesskey="k">Keys</a></nav>${who}</header>
<main>${body}</main>${script ? `<script>${SCRIPT}</script>` : ''}</body></html>`;
}

/** A cell that names its column: on a phone each row becomes a card of labelled lines. */
function td(label: string, html: string, cls?: string): string {
  return `<td data-label="${e(label)}"${cls ? ` class="${cls}"` : ''}>${html}</td>`;
}

function serverRow(s: ServerView): string {
  return `<tr data-server="${e(s.name)}" data-health="${s.health}">${td('Name', `${e(s.name)}${s.member ? '' : ' <span class="muted">(draining)</span>'}`)}
${td('Health', s.health, s.health)}${td('Up since', time(s.upSinceMs))}${td('Replicas', String(s.replicas))}${td('Leads', String(s.leaderships))}${td('Public', e(s.publicAddress))}${td('Internal', e(s.internalAddress))}</tr>`;
}

function shardRows(namespace: string, shard: ShardView): string {
  const replicas = shard.replicas
    .map((r) => (r.error ? `${e(r.node)}: <span class="error">${e(r.role)}</span> <span class="muted">(${e(r.error)})</span>` : `${e(r.node)}: ${e(r.role)} head ${r.headOffset ?? '?'} commit ${r.commitOffset ?? '?'} lag ${r.lag ?? '?'}`))
    .join('<br>');
  return `<tr data-shard="${e(`${namespace}/${shard.id}`)}" data-leader="${e(shard.leader ?? '')}">${td('Shard', e(shard.id))}${td('Leader', shard.leader ? e(shard.leader) : '<span class="down">none</span>')}
${td('Term', e(shard.term))}${td('Status', e(shard.status))}${td('Sessions', shard.sessions === undefined ? '—' : String(shard.sessions))}${td('Hash range', e(shard.range))}
${td('Ensemble', e(shard.ensemble.join(', ')))}${td('Replicas', `<span>${replicas}</span>`, 'wrap')}</tr>`;
}

function eventRow(entry: JournalEntry): string {
  return `<tr data-event="${entry.kind}">${td('When', time(entry.atMs))}${td('What', e(entry.kind))}${td('Shard', e(entry.shard ?? ''))}${td('Outcome', e(entry.summary))}${td('Why', e(entry.reason), 'wrap')}</tr>`;
}

function eventsSection(events: readonly JournalEntry[]): string {
  return `<section class="wide" aria-labelledby="h-events"><h2 id="h-events">Recent elections and moves</h2><div class="scroll"><table class="cards">
<thead><tr><th>When</th><th>What</th><th>Shard</th><th>Outcome</th><th>Why</th></tr></thead><tbody>${events.map(eventRow).join('') || '<tr><td colspan="5" class="muted">nothing yet</td></tr>'}</tbody></table></div></section>`;
}

function balancerSection(v: ClusterView): string {
  const b = v.balancer;
  const move = b.replicaMove ? `${e(b.replicaMove.shard)}: ${e(b.replicaMove.from)} → ${e(b.replicaMove.to)} for ${duration(b.replicaMove.forMs)}` : 'none';
  const quarantined = b.quarantined.map((q) => `${e(q.shard)} (${e(q.what)}, ${duration(q.remainingMs)} left)`).join(', ') || 'none';
  return `<section aria-labelledby="h-balancer"><h2 id="h-balancer">Load balancer</h2><dl>
<dt>Runs every</dt><dd>${duration(b.scheduleIntervalMs)}</dd><dt>Quarantine</dt><dd>${duration(b.quarantineTimeMs)}</dd>
<dt>Replica move</dt><dd>${move}</dd><dt>Leader move</dt><dd>${b.movingLeader ? 'in progress' : 'none'}</dd>
<dt>Quarantined shards</dt><dd>${quarantined}</dd><dt>Splits running</dt><dd>${b.splitsRunning}</dd></dl></section>`;
}

/** The live part of the cluster page (replaced at each push). */
export function renderLive(view: ConsoleView): string {
  if (view.kind === 'standby') {
    return `<section class="wide"><h2>This coordinator stands by</h2><p>${e(view.coordinator)}: ${e(view.reason)}</p><p class="muted">Open the console of the coordinator holding the lease.</p></section>${eventsSection(view.events)}`;
  }
  const servers = `<section aria-labelledby="h-servers"><h2 id="h-servers">Servers</h2><div class="scroll"><table class="cards">
<thead><tr><th>Name</th><th>Health</th><th>Up since</th><th>Replicas</th><th>Leads</th><th>Public</th><th>Internal</th></tr></thead>
<tbody>${view.servers.map(serverRow).join('')}</tbody></table></div>
<p class="muted">Health checks every ${duration(view.healthCheck.intervalMs)}, down after ${view.healthCheck.failureThreshold} failures. Coordinator ${e(view.coordinator)}, at ${time(view.generatedAtMs)}.</p></section>`;
  const namespaces = view.namespaces
    .map(
      (ns) => `<h3>${e(ns.name)} <span class="muted">(replication factor ${ns.replicationFactor}, ${ns.shards.length} shards) <a href="keys?namespace=${encodeURIComponent(ns.name)}">keys</a></span></h3>
<div class="scroll"><table class="cards"><thead><tr><th>Shard</th><th>Leader</th><th>Term</th><th>Status</th><th>Sessions</th><th>Hash range</th><th>Ensemble</th><th>Replicas</th></tr></thead>
<tbody>${ns.shards.map((s) => shardRows(ns.name, s)).join('')}</tbody></table></div>`,
    )
    .join('');
  return `${servers}${balancerSection(view)}<section class="wide" aria-labelledby="h-ns"><h2 id="h-ns">Namespaces</h2>${namespaces || '<p class="muted">none</p>'}</section>${eventsSection(view.events)}`;
}

export function clusterPage(view: ConsoleView, chrome: PageChrome): string {
  return document('oxia-ts console', `<p class="muted">Status: <span id="conn">loading…</span></p><div id="live">${renderLive(view)}</div>`, chrome, true);
}

export function loginPage(message: string | undefined): string {
  return document(
    'oxia-ts console: log in',
    `<section><h2>Log in</h2><p>The console takes the same bearer token as the admin API (it needs the admin right). It is kept by the server; the browser holds a short-lived session cookie.</p>
${message ? `<p class="error" role="alert">${e(message)}</p>` : ''}
<form method="post" action="login"><label>Token <input type="password" name="token" autocomplete="off" required autofocus></label><button type="submit">Log in</button></form></section>`,
  );
}

export function errorPage(status: number, message: string, chrome: PageChrome): string {
  return document(`oxia-ts console: ${status}`, `<section><h2>${status}</h2><p class="error" role="alert">${e(message)}</p><p><a href="./">Back to the cluster</a></p></section>`, chrome);
}

export interface KeysPageInput {
  readonly namespaces: readonly string[];
  readonly namespace: string | undefined;
  readonly prefix: string;
  readonly listing?: KeyListing | undefined;
  readonly record?: { readonly key: string; readonly found: RecordView | undefined } | undefined;
  readonly error?: string | undefined;
}

function keyLink(namespace: string, key: string): string {
  return `keys?namespace=${encodeURIComponent(namespace)}&key=${encodeURIComponent(key)}`;
}

function valueText(value: Uint8Array): string {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(value);
  return text.includes('\uFFFD') ? `(${value.length} bytes, hex) ${Buffer.from(value).toString('hex')}` : text;
}

export function keysPage(input: KeysPageInput, chrome: PageChrome): string {
  const options = input.namespaces.map((n) => `<option${n === input.namespace ? ' selected' : ''}>${e(n)}</option>`).join('');
  const form = `<form method="get" action="keys" role="search"><label>Namespace <select name="namespace">${options}</select></label>
<label>Key prefix <input name="prefix" value="${e(input.prefix)}" autofocus></label><button type="submit">List</button></form>
<form method="get" action="keys"><input type="hidden" name="namespace" value="${e(input.namespace ?? '')}"><label>Key <input name="key" value="${e(input.record?.key ?? '')}"></label><button type="submit">Get</button></form>`;
  let result = '';
  if (input.error) result = `<p class="error" role="alert">${e(input.error)}</p>`;
  else if (input.record) {
    const r = input.record.found;
    result = r
      ? `<h3>${e(r.key)}</h3><dl id="record"><dt>version id</dt><dd>${r.versionId}</dd><dt>modifications</dt><dd>${r.modificationsCount}</dd>
<dt>created</dt><dd>${time(r.createdMs)}</dd><dt>modified</dt><dd>${time(r.modifiedMs)}</dd>
<dt>session</dt><dd>${r.sessionId === undefined ? '— (not ephemeral)' : `${r.sessionId} (${e(r.clientIdentity ?? '')})`}</dd><dt>size</dt><dd>${r.value.length} bytes</dd></dl><pre>${e(valueText(r.value))}</pre>`
      : `<p id="record">No record at ${e(input.record.key)}.</p>`;
  } else if (input.listing && input.namespace) {
    const l = input.listing;
    const items = l.keys.map((k) => `<li><a href="${keyLink(l.namespace, k)}">${e(k)}</a></li>`).join('');
    const more = l.truncated && l.keys.length > 0
      ? `<p><a href="keys?namespace=${encodeURIComponent(l.namespace)}&prefix=${encodeURIComponent(l.prefix)}&after=${encodeURIComponent(l.keys.at(-1) ?? '')}">More keys</a></p>`
      : '';
    result = `<p class="muted">${l.keys.length} keys under “${e(l.prefix)}” (one level of a hierarchical namespace).</p><ul id="keys">${items}</ul>${more}`;
  }
  return document('oxia-ts console: keys', `<section><h2>Keys (read only)</h2>${form}${result}</section>`, chrome);
}
