// The explanation of a counterexample as one self-contained HTML page (inline style, no
// scripts or external assets): the calls with each layer's answer, and at the failing step a
// table of what each layer wrote, with the places where the failing pair differs marked.
import type { LayerName } from '../libsel4/index.ts';
import { describeBoot, describeFailure, foundBy, type ExplainedStep, type Explanation, type Place } from './explain.ts';

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const style = `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1b1b1b; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 2em; }
code, td.call, td.value { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 13px; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr.failing td { background: #fde8e8; }
td.differs { background: #fff3c4; font-weight: bold; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
ul { margin: 0; padding-left: 1.2em; }
`;

function answersCell(s: ExplainedStep): string {
  const answers = s.answers.map(([layers, answer]) => `<li>${escape(layers.join(', '))}: <code>${escape(answer)}</code></li>`);
  const differences = s.differences.map((d) => `<li>differs: ${escape(d.place)}: ${escape(d.values.map(([l, v]) => `${l} ${v}`).join(', '))}</li>`);
  return `<ul>${[...answers, ...differences].join('')}</ul>`;
}

function stepsTable(e: Explanation): string {
  const rows = e.steps.map(
    (s) => `<tr${s.failing ? ' class="failing"' : ''}><td>${s.index}</td><td class="call">${escape(s.call)}</td><td>${answersCell(s)}</td></tr>`,
  );
  return `<table><tr><th>step</th><th>the root task's call</th><th>what each layer answered</th></tr>${rows.join('')}</table>`;
}

function placeRow(p: Place, layers: readonly LayerName[], marked: ReadonlySet<LayerName>): string {
  const cells = layers.map((layer) => {
    const value = p.values.find(([l]) => l === layer)?.[1] ?? 'not run';
    return `<td class="value${p.differs && marked.has(layer) ? ' differs' : ''}">${escape(value)}</td>`;
  });
  return `<tr><td>${escape(p.place)}${p.differs ? `<br><small>differs: ${escape(p.differs)}</small>` : ''}</td>${cells.join('')}</tr>`;
}

function writtenTable(e: Explanation, s: ExplainedStep): string {
  const places = s.written ?? [];
  if (places.length === 0) return '<p>No layer wrote a slot or object at this entry.</p>';
  const layers = [...new Set(places.flatMap((p) => p.values.map(([l]) => l)))];
  const marked = new Set<LayerName>(e.pair ? [e.pair.lower, e.pair.upper] : []);
  const head = `<tr><th>place</th>${layers.map((l) => `<th>${escape(l)}</th>`).join('')}</tr>`;
  return `<table>${head}${places.map((p) => placeRow(p, layers, marked)).join('')}</table>`;
}

export function explanationHtml(e: Explanation, file: string): string {
  const { cx } = e;
  const f = cx.failure;
  const failing = e.steps.find((s) => s.failing);
  const summary = [
    ['file', file],
    ...(cx.note ? [['note', cx.note]] : []),
    ['found by', foundBy(cx)],
    ['boot', describeBoot(cx.settings.config)],
    ['recorded failure', describeFailure(cx)],
    ['where', f.where.path],
    [e.pair?.lower ?? 'found', f.where.lower],
    [e.pair?.upper ?? 'expected', f.where.upper],
    ['after the last entry', e.closing],
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>sel4-model counterexample: ${escape(describeFailure(cx))}</title>
<style>${style}</style>
</head>
<body>
<h1>Counterexample: ${escape(describeFailure(cx))}</h1>
<dl>${summary.map(([k, v]) => `<dt>${escape(k!)}</dt><dd>${escape(v!)}</dd>`).join('')}</dl>
<h2>The root task's calls (${cx.trace.length} kernel entries), each layer run on its own</h2>
${stepsTable(e)}
${failing ? `<h2>Written by step ${failing.index}, as each layer holds it after the entry</h2>\n${writtenTable(e, failing)}` : ''}
</body>
</html>
`;
}
