/** The server's status: the panel's empty screen (backend, model, errors). */
import type { StatusParams } from '../../../server/src/protocol';
import { el, facts } from '../dom';

const STATE_LABELS: Record<StatusParams['state'], string> = {
  starting: 'Starting',
  'loading-model': 'Loading model',
  ready: 'Ready',
  error: 'Error',
};

export function statusSection(status: StatusParams | undefined): HTMLElement {
  const section = el('section', 'status');
  const header = el('header', 'status-header');
  header.append(el('h2', undefined, 'Influence Lens'));
  const stateName = status?.state ?? 'starting';
  header.append(el('span', `badge state-${stateName}`, STATE_LABELS[stateName]));
  section.append(header);
  section.append(el('p', stateName === 'error' ? 'message error' : 'message', status?.message ?? 'Waiting for the server…'));
  if (!status) return section;

  const rows: [string, string][] = [];
  if (status.backend) {
    rows.push(['Backend', status.backend.name], ['Why', status.backend.reason]);
    if (status.backend.threads) rows.push(['Compute threads', String(status.backend.threads)]);
  }
  if (status.model) {
    const m = status.model;
    rows.push(
      ['Model', m.path],
      ['Architecture', `${m.architecture} (${m.format})`],
      ['Parameters', m.parameters.toLocaleString('en-US')],
      ['Shape', `${m.layers} layers · d_model ${m.dim} · MLP ${m.hiddenDim} · vocab ${m.vocabSize} · context ${m.maxSeqLen}`],
    );
  } else {
    rows.push(['Model', status.modelPath ? `${status.modelPath} (not loaded)` : 'none (set influenceLens.model)']);
  }
  if (status.error?.file) {
    rows.push(['File', status.error.line === undefined ? status.error.file : `${status.error.file}:${status.error.line}`]);
  }
  section.append(facts(rows));
  section.append(el('p', 'message', 'Charts appear here when a query or a batch is shown (a hover’s “Show in panel”, or a batch run).'));
  return section;
}
