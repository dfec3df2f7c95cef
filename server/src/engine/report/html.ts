/**
 * The HTML report: one self-contained file, the webview's script and styles and the data inlined,
 * nothing fetched. Its CSP allows only the inline script and style carrying this file's nonce; the data
 * sits in a non-executed JSON script element, escaped so that no text in it (corpus text included) can
 * close that element or open another.
 */
import { randomBytes } from 'node:crypto';
import type { ReportData } from '../../common/views';

/** The built webview (dist/webview): main.js, styles.css and themes.css (the --vscode-* variables outside VS Code). */
export interface WebviewAssets {
  script: string;
  styles: string;
  themes: string;
}

/** Must match webview/src/host.ts REPORT_DATA_ID. */
const DATA_ID = 'influence-lens-report';

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON that is inert inside <script>: every <, > and & (and the JS line separators) as \u escapes. */
export function inertJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Code inlined in a <script> or <style> element must not contain its end tag or a comment opener. */
function inlineSafe(code: string, tag: 'script' | 'style'): string {
  return code.replace(new RegExp(`</(${tag})`, 'gi'), '<\\/$1').replace(/<!--/g, '<\\!--');
}

export function reportHtml(assets: WebviewAssets, data: ReportData, title: string): string {
  const nonce = randomBytes(16).toString('base64');
  const csp = `default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}'; img-src data:;`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta name="generator" content="${escapeHtml(data.generatedBy)}">
<title>${escapeHtml(title)}</title>
<style nonce="${nonce}">
${inlineSafe(assets.themes, 'style')}
${inlineSafe(assets.styles, 'style')}
</style>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script type="application/json" id="${DATA_ID}">${inertJson(data)}</script>
<script nonce="${nonce}">
${inlineSafe(assets.script, 'script')}
</script>
</body>
</html>
`;
}
