import { html, render, useEffect, useMemo, useState, useRef } from './vendor/preact-htm.js';
import { createApi } from './fhir.js';
import { planTestWrite, runTestWrite } from './examples.js';
import { LiveChannel } from './live.js';
import { buildSubscription, readStatus, summarize } from './shapes.js';
import { advertisedTopics, checkFilter, readTopics } from './topics.js';

const CONTENT = ['id-only', 'full-resource', 'empty'];

function App({ settings }) {
  const api = useMemo(() => createApi(settings.fhirBasePath), [settings]);
  const [bearer, setBearer] = useState('');
  const [topics, setTopics] = useState([]);
  const [advertised, setAdvertised] = useState([]);
  const [topicUrl, setTopicUrl] = useState('');
  const [subs, setSubs] = useState([]);
  const [selected, setSelected] = useState('');
  const [problem, setProblem] = useState('');
  const [, redraw] = useState(0);
  const live = useRef(new LiveChannel(() => redraw((n) => n + 1))).current;

  const guard =
    (fn) =>
    async (...args) => {
      setProblem('');
      try {
        await fn(...args);
      } catch (err) {
        setProblem(err.message);
      }
    };

  const load = guard(async () => {
    api.setBearer(bearer);
    const capability = await api.call('GET', 'metadata');
    setAdvertised(advertisedTopics(capability));
    const found = await readTopics(api, settings.fhirVersion);
    setTopics(found);
    if (!topicUrl && found[0]) setTopicUrl(found[0].url);
    await loadSubs();
  });
  const loadSubs = async () => {
    const bundle = await api.call('GET', 'Subscription?_count=100');
    setSubs(
      (bundle.entry ?? [])
        .map((e) => e.resource)
        .filter((r) => r?.resourceType === 'Subscription')
        .map(summarize),
    );
  };
  useEffect(() => void load(), []);

  const topic = topics.find((t) => t.url === topicUrl);
  return html` <header>
      <h1>FHIR Subscription Gateway <span class="muted">console</span></h1>
      <span class="pill">FHIR ${settings.fhirVersion}</span>
      ${settings.demo && html`<span class="pill demo">demo upstream</span>`}
      <form class="bearer" onSubmit=${(e) => (e.preventDefault(), load())}>
        <label>Bearer token <input type="password" autocomplete="off" placeholder="only if your FHIR server needs one" value=${bearer} onInput=${(e) => setBearer(e.target.value)} /></label>
        <button type="submit">Connect</button>
      </form>
    </header>
    ${problem && html`<p class="problem" role="alert">${problem}</p>`}
    <div class="columns">
      <${Topics} topics=${topics} advertised=${advertised} selected=${topicUrl} onSelect=${setTopicUrl} />
      <section>
        <${CreateForm}
          key=${topicUrl}
          topic=${topic}
          version=${settings.fhirVersion}
          onCreate=${guard(async (body) => {
            const created = await api.call('POST', 'Subscription', body);
            await loadSubs();
            setSelected(created.id);
          })}
        />
        <${Existing} subs=${subs} selected=${selected} onSelect=${setSelected} onRefresh=${guard(loadSubs)} api=${api} seen=${live.entries.filter((e) => e.kind === 'event-notification').length} />
      </section>
      <${Live} live=${live} api=${api} subscription=${subs.find((s) => s.id === selected)} topics=${topics} version=${settings.fhirVersion} demo=${settings.demo} guard=${guard} />
    </div>`;
}

function Topics({ topics, advertised, selected, onSelect }) {
  const unread = advertised.filter((url) => !topics.some((t) => t.url === url));
  return html`<section class="topics">
    <h2>Topics <span class="muted">${topics.length}</span></h2>
    ${topics.map(
      (t) =>
        html`<article class=${`topic ${t.url === selected ? 'chosen' : ''}`} onClick=${() => onSelect(t.url)}>
          <h3>${t.title} ${t.status !== 'active' && html`<span class="pill">${t.status}</span>`}</h3>
          <code class="url">${t.url}${t.version ? `|${t.version}` : ''}</code>
          <h4>Triggers</h4>
          <ul>
            ${t.triggers.map(
              (tr) =>
                html`<li>
                  <b>${tr.resource}</b> ${tr.interactions.length ? tr.interactions.join(', ') : 'any interaction'}
                  ${tr.current && html`<div class="muted">when ${tr.previous ? `${tr.previous} → ` : ''}${tr.current}</div>`}
                  ${tr.fhirPath && html`<div class="muted"><code>${tr.fhirPath}</code></div>`}
                </li>`,
            )}
          </ul>
          <h4>Filters (canFilterBy)</h4>
          ${
            t.filters.length === 0
              ? html`<p class="muted">none</p>`
              : html`<ul class="filters">
                  ${t.filters.map(
                    (f) =>
                      html`<li>
                        <code>${f.resource ? `${f.resource}?` : ''}${f.parameter}</code>
                        ${f.modifiers.length > 0 && html` <span class="muted">:${f.modifiers.join(' :')}</span>`}${f.comparators.length > 0 && html` <span class="muted">${f.comparators.join(' ')}</span>`}
                      </li>`,
                  )}
                </ul>`
          }
        </article>`,
    )}
    ${unread.length > 0 && html`<p class="muted">Advertised but not readable here: ${unread.join(', ')}</p>`}
  </section>`;
}

function CreateForm({ topic, version, onCreate }) {
  const [filters, setFilters] = useState(['']);
  const [content, setContent] = useState('full-resource');
  const [heartbeat, setHeartbeat] = useState('30');
  const [maxCount, setMaxCount] = useState('');
  if (!topic)
    return html`<h2>Create a subscription</h2>
      <p class="muted">Choose a topic.</p>`;
  const checked = filters.map((f) => (f.trim() === '' ? undefined : checkFilter(f, topic)));
  const bad = checked.some((c) => c?.error);
  const number = (v) => (v.trim() === '' ? undefined : Number(v));
  const numbersOk = [heartbeat, maxCount].every((v) => v.trim() === '' || /^[1-9]\d{0,6}$/.test(v.trim()));
  const submit = (e) => {
    e.preventDefault();
    onCreate(buildSubscription(version, { topic: topic.url, filters: checked.filter(Boolean).map((c) => c.filter), content, heartbeat: number(heartbeat), maxCount: number(maxCount) }));
  };
  return html`<form class="create" onSubmit=${submit}>
    <h2>Create a subscription</h2>
    <p class="muted">Topic: <b>${topic.title}</b></p>
    <fieldset>
      <legend>Filters</legend>
      ${filters.map(
        (f, i) =>
          html`<div class="filter">
            <input
              name=${`filter-${i}`}
              value=${f}
              placeholder=${topic.filters[0] ? `${topic.filters[0].parameter}=…` : 'this topic has no filters'}
              aria-invalid=${checked[i]?.error ? 'true' : 'false'}
              onInput=${(e) => setFilters(filters.map((x, j) => (j === i ? e.target.value : x)))}
            />
            ${checked[i]?.error && html`<span class="invalid">${checked[i].error}</span>`} ${checked[i]?.filter && html`<span class="valid">✓</span>`}
          </div>`,
      )}
      <button type="button" class="small" onClick=${() => setFilters([...filters, ''])}>add a filter</button>
    </fieldset>
    <label
      >Content
      <select name="content" value=${content} onChange=${(e) => setContent(e.target.value)}>
        ${CONTENT.map((c) => html`<option value=${c}>${c}</option>`)}
      </select></label
    >
    <label>Heartbeat (s) <input name="heartbeat" value=${heartbeat} size="6" onInput=${(e) => setHeartbeat(e.target.value)} /></label>
    <label>maxCount <input name="maxCount" value=${maxCount} size="6" placeholder="1" onInput=${(e) => setMaxCount(e.target.value)} /></label>
    <button type="submit" id="create" disabled=${bad || !numbersOk}>Create</button>
  </form>`;
}

function Existing({ subs, selected, onSelect, onRefresh, api, seen }) {
  const [status, setStatus] = useState(undefined);
  const [error, setError] = useState('');
  useEffect(() => {
    setStatus(undefined);
    setError('');
    if (!selected) return;
    api.call('GET', `Subscription/${encodeURIComponent(selected)}/$status`).then(
      (b) => setStatus(readStatus(b.entry?.[0]?.resource)),
      (err) => setError(err.message),
    );
  }, [selected, subs, seen]);
  return html`<div class="existing">
    <h2>Subscriptions <button type="button" class="small" onClick=${onRefresh}>refresh</button></h2>
    <select name="subscription" size="5" value=${selected} onChange=${(e) => onSelect(e.target.value)}>
      ${subs.map((s) => html`<option value=${s.id}>${s.id} · ${s.status} · ${s.channel} · ${(s.topic ?? '').split('/').pop()}${s.filters.length ? ` · ${s.filters.join(' & ')}` : ''}</option>`)}
    </select>
    ${error && html`<p class="problem">$status: ${error}</p>`}
    ${
      status &&
      html`<dl class="status" id="status">
        <dt>$status</dt>
        <dd>${status.status}</dd>
        <dt>events so far</dt>
        <dd>${status.total ?? '?'}</dd>
        <dt>topic</dt>
        <dd><code>${status.topic}</code></dd>
        ${
          status.error.length > 0 &&
          html`<dt>errors</dt>
            <dd>${status.error.join('; ')}</dd>`
        }
      </dl>`
    }
  </div>`;
}

function Live({ live, api, subscription, topics, version, demo, guard }) {
  const [since, setSince] = useState('');
  const [note, setNote] = useState('');
  const bound = live.subscription !== undefined && live.state === 'open';
  const topic = topics.find((t) => t.url === subscription?.topic);
  const write = guard(async () => {
    const filters = (subscription?.filters ?? []).map((f) => checkFilter(f, topic).filter).filter(Boolean);
    const plan = planTestWrite(version, topic, filters);
    const written = await runTestWrite(api, plan);
    setNote(`wrote ${written.join(', ')}${plan.notes.length ? ` — ${plan.notes.join('; ')}` : ''}`);
  });
  return html`<section class="live">
    <h2>Live <span class=${`pill ${live.state}`}>${live.state}${live.subscription ? ` · Subscription/${live.subscription}` : ''}</span></h2>
    <div class="controls">
      <button type="button" id="bind" disabled=${!subscription || subscription.channel !== 'websocket'} onClick=${guard(() => live.bind(api, subscription.id))}>Bind and watch</button>
      <label>replay from event <input name="since" size="5" value=${since} onInput=${(e) => setSince(e.target.value)} /></label>
      <button type="button" disabled=${!subscription || !/^\d+$/.test(since)} onClick=${guard(() => live.bind(api, subscription.id, Number(since)))}>Replay</button>
      <button type="button" disabled=${!live.ws} onClick=${() => (live.close(), live.onChange())}>Close</button>
    </div>
    <div class="controls">
      <button type="button" id="write" disabled=${!topic} onClick=${write} title=${demo ? '' : 'writes to your FHIR server'}>Write a test resource</button>
      ${!demo && html`<span class="muted">writes to the real upstream</span>`} ${note && html`<span class="muted" id="written">${note}</span>`}
    </div>
    ${!bound && live.entries.length === 0 && html`<p class="muted">Create or choose a websocket subscription, then bind it to watch its handshake, heartbeats and notifications.</p>`}
    <ol class="timeline" id="timeline">
      ${live.entries.map((e) => html`<${Entry} key=${e.seq} entry=${e} onReplay=${(n) => guard(() => live.bind(api, live.subscription, n))()} />`)}
    </ol>
  </section>`;
}

function Entry({ entry, onReplay }) {
  const [open, setOpen] = useState(false);
  const time = entry.at.toLocaleTimeString();
  if (entry.kind === 'gap') {
    return html`<li class="entry gap" data-kind="gap">
      <span class="time">${time}</span> <b>gap</b> ${entry.summary} <button type="button" class="small" onClick=${() => onReplay(entry.from)}>replay from ${entry.from}</button>
    </li>`;
  }
  if (!entry.text) return html`<li class="entry note" data-kind=${entry.kind}><span class="time">${time}</span> ${entry.summary}</li>`;
  const f = entry.frame;
  const numbers = f.status?.events.map((e) => e.number).filter((n) => n !== undefined) ?? [];
  const focus = f.status?.events.map((e) => e.focus).filter(Boolean) ?? [];
  let pretty = entry.text;
  try {
    pretty = JSON.stringify(JSON.parse(entry.text), null, 2);
  } catch {
    // Not JSON: shown as it came.
  }
  return html`<li class=${`entry ${f.kind}`} data-kind=${f.kind}>
    <button type="button" class="summary" aria-expanded=${open} onClick=${() => setOpen(!open)}>
      <span class="time">${time}</span> <b>${f.kind}</b>
      ${numbers.length > 0 && html` <span class="numbers">#${numbers.length > 1 ? `${numbers[0]}–${numbers[numbers.length - 1]}` : numbers[0]}</span>`}
      ${f.status?.total !== undefined && html` <span class="muted">total ${f.status.total}</span>`} ${focus.length > 0 && html` <code>${focus.join(', ')}</code>`} ${f.message && html` ${f.message}`}
    </button>
    ${open && html`<pre class="bundle">${pretty}</pre>`}
  </li>`;
}

async function start() {
  const res = await fetch('settings.json', { cache: 'no-store' });
  const settings = await res.json();
  render(html`<${App} settings=${settings} />`, document.getElementById('app'));
}

start().catch((err) => {
  document.getElementById('app').textContent = `The console could not start: ${err.message}`;
});
