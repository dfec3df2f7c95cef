/**
 * The panel's HTML: the built script and stylesheet (dist/webview) under a strict Content Security
 * Policy: nothing but the webview's own files, the script only with this page's nonce, images only
 * from the webview's files or data: URLs. chart.js draws on canvases and needs nothing more. Pure
 * (no vscode import), so the webview tests serve exactly this page.
 */

export interface PanelHtmlInput {
  /** webview.cspSource: the origin the webview's own files are served from. */
  cspSource: string;
  scriptUri: string;
  stylesUri: string;
  /** A fresh random value per page. */
  nonce: string;
}

export function panelCsp(cspSource: string, nonce: string): string {
  return `default-src 'none'; style-src ${cspSource}; script-src 'nonce-${nonce}'; img-src ${cspSource} data:;`;
}

/** Attribute-safe (the URIs come from VS Code, but stay careful). */
function attr(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
}

export function panelHtml({ cspSource, scriptUri, stylesUri, nonce }: PanelHtmlInput): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${attr(panelCsp(cspSource, nonce))}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link href="${attr(stylesUri)}" rel="stylesheet">
  <title>Influence Lens</title>
</head>
<body>
  <main id="app" aria-live="polite"></main>
  <script nonce="${attr(nonce)}" src="${attr(scriptUri)}"></script>
</body>
</html>`;
}
