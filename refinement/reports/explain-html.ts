// The explanation of a counterexample as one self-contained HTML page (inline style, no
// scripts or external assets): the calls with each layer's answer, and at the failing step a
// table of what each layer wrote, with the places where the failing pair differs marked.
import type { LayerName } from '../../libsel4/index.ts';
import { describeBoot, describeChoice, describeFailure, entries, fileCommands, foundBy, type ExplainedStep, type Explanation, type Place } from './explain.ts';
import { fieldsLine, type Field } from './places.ts';

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
td.differs, mark { background: #ffd966; font-weight: bold; }
td.absent { color: #999; }
tr.place td { background: #f7f7f7; }
dl { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
ul { margin: 0; padding-left: 1.2em; }
`;

/** A layer's fields on one line, each field that differs on this layer in a <mark>. */
function markedLine(p: Place, layer: LayerName, fields: readonly Field[]): string {
  return fields
    .map((f, i) => {
      const text = escape(f.text);
      return `${i > 0 ? escape(f.before) : ''}${p.marked.get(f.name)?.includes(layer) ? `<mark>${text}</mark>` : text}`;
    })
    .join('');
}

function differenceItem(d: Place): string {
  const values = d.values.map(([layer, fields]) => `${escape(layer)} <code>${markedLine(d, layer, fields)}</code>`);
  return `<li>differs: ${escape(d.place)}: ${values.join('; ')}</li>`;
}

function answersCell(s: ExplainedStep): string {
  const answers = s.answers.map(([layers, answer]) => `<li>${escape(layers.join(', '))}: <code>${escape(answer)}</code></li>`);
  const choices = s.choices.map((c) => `<li>${escape(describeChoice(c))}</li>`);
  return `<ul>${[...answers, ...choices, ...s.differences.map(differenceItem)].join('')}</ul>`;
}

function stepsTable(e: Explanation): string {
  const rows = e.steps.map(
    (s) => `<tr${s.failing ? ' class="failing"' : ''}><td>${s.index}</td><td class="call">${escape(s.call)}</td><td>${answersCell(s)}</td></tr>`,
  );
  return `<table><tr><th>step</th><th>the root task's call</th><th>what each layer answered</th></tr>${rows.join('')}</table>`;
}

/** A place whose layers agree: one row. One that differs: a row per field, the differing cells highlighted. */
function placeRows(p: Place, layers: readonly LayerName[]): string {
  if (p.marked.size === 0) {
    const fullest = [...p.values].sort((a, b) => b[1].length - a[1].length)[0];
    const line = fullest ? fieldsLine(fullest[1]).line : '';
    return `<tr><td>${escape(p.place)}</td><td class="value" colspan="${layers.length}">${escape(line)} <small>(${escape(p.values.map(([l]) => l).join(', '))} agree)</small></td></tr>`;
  }
  const names = [...new Set(p.values.flatMap(([, fields]) => fields.map((f) => f.name)))];
  const head = `<tr class="place"><td colspan="${layers.length + 1}">${escape(p.place)}${p.differs ? ` <small>differs: ${escape(p.differs)}</small>` : ''}</td></tr>`;
  const rows = names.map((name) => {
    const cells = layers.map((layer) => {
      const f = p.values.find(([l]) => l === layer)?.[1].find((x) => x.name === name);
      if (!f) return '<td class="value absent">-</td>';
      return `<td class="value${p.marked.get(name)?.includes(layer) ? ' differs' : ''}">${escape(f.text)}</td>`;
    });
    return `<tr><td>&nbsp;&nbsp;${escape(name)}</td>${cells.join('')}</tr>`;
  });
  return head + rows.join('');
}

function writtenTable(s: ExplainedStep): string {
  const places = s.written ?? [];
  if (places.length === 0) return '<p>No layer wrote a slot or object at this entry.</p>';
  const layers = [...new Set(places.flatMap((p) => p.values.map(([l]) => l)))];
  const head = `<tr><th>place</th>${layers.map((l) => `<th>${escape(l)}</th>`).join('')}</tr>`;
  return `<table>${head}${places.map((p) => placeRows(p, layers)).join('')}</table>`;
}

export function explanationHtml(e: Explanation, file: string): string {
  const { cx } = e;
  const f = cx.failure;
  const failing = e.steps.find((s) => s.failing);
  const commands = fileCommands(file);
  const summary = [
    ['file', file],
    ...(cx.note ? [['note', cx.note]] : []),
    ['replay', commands.replay],
    ['explain as text', commands.explain],
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
<h2>The root task's calls (${entries(cx)}), each layer run on its own</h2>
${stepsTable(e)}
${failing ? `<h2>Written by step ${failing.index}, as each layer holds it after the entry</h2>\n${writtenTable(failing)}` : ''}
</body>
</html>
`;
}
