import { chromium } from 'playwright-core';
(async () => {
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'] });
  const page = await browser.newPage({ viewport: { width: 1300, height: 900 } });
  page.on('console', (m) => console.log('console', m.type(), m.text()));
  page.on('pageerror', (e) => console.log('pageerror', e.message));
  await page.goto('file://' + process.argv[2]);
  await page.waitForSelector('body[data-screen=batch]');
  await page.screenshot({ path: '/tmp/pfx/batch.png', fullPage: true });
  await page.click('#queries button.link >> nth=0');
  await page.waitForSelector('body[data-screen=query]');
  await page.screenshot({ path: '/tmp/pfx/query.png', fullPage: true });
  await page.locator('.figures').first().screenshot({ path: '/tmp/pfx/qfig.png' });
  console.log('pwned', await page.evaluate(() => (window as any).__pwned));
  await browser.close();
})();
