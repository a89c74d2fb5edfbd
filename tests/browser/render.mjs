// Renders a PR-comment Markdown file the way GitHub shows it and reports what a reader sees.
//
//   node render.mjs REPORT.md MERMAID_PACKAGE OUT_PREFIX [NEEDLE ...]
//
// The Markdown goes through marked (GitHub-flavoured), each ```mermaid block through the given
// Mermaid build (`mermaid-github` = the version GitHub renders with, `mermaid` = newest), in
// Debian's Chromium, headless, at the width of a PR comment body (846 px). Prints one JSON document:
//   errors      every diagram that failed to parse or render (Mermaid's message)
//   unsupported diagrams whose text contains "Unsupported markdown" (Mermaid 11.3-11.6 draw that
//               instead of a label they read as Markdown, without raising an error)
//   diagrams    per diagram: its rendered width, its natural width and the smallest effective font
//               size of its labels (computed font size x the scale the 846 px column applies)
//   needles     per NEEDLE: the top (px from the page top) of the first text showing it, as the
//               comment first appears (collapsed <details> stay collapsed), or null if not visible
// and writes OUT_PREFIX-fold.png (the first 1000 px as a reviewer first sees it) and
// OUT_PREFIX-full.png (the whole comment with every section expanded) and OUT_PREFIX-diagramN.png
// (each diagram as shown at that width).
import { readFileSync, mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const [reportPath, mermaidPackage, outPrefix, ...needles] = process.argv.slice(2);
const WIDTH = 846;
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";

const page_html = `<!doctype html><html><head><meta charset="utf-8">
<style>
  /* The parts of GitHub's comment styling that decide layout: width, font, headings, tables. */
  body { margin: 0; background: #fff; }
  .markdown-body { box-sizing: border-box; width: ${WIDTH}px; padding: 16px;
    font: 14px/1.5 -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; color: #1f2328; }
  .markdown-body h2 { font-size: 1.5em; border-bottom: 1px solid #d1d9e0; padding-bottom: .3em; margin: 24px 0 16px; }
  .markdown-body h3 { font-size: 1.25em; margin: 24px 0 16px; }
  .markdown-body table { display: block; max-width: 100%; overflow: auto; border-collapse: collapse; }
  .markdown-body td, .markdown-body th { border: 1px solid #d1d9e0; padding: 6px 13px; }
  .markdown-body code { font-size: 85%; background: #eff1f3; padding: .2em .4em; border-radius: 6px; }
  .markdown-body details { margin: 0 0 16px; }
  .markdown-body blockquote { margin: 0; padding: 0 1em; color: #59636e; border-left: .25em solid #d1d9e0; }
  .markdown-body .mermaid-view { max-width: 100%; overflow: hidden; }
  .markdown-body .mermaid-view svg { max-width: 100%; height: auto; }
</style></head><body><article class="markdown-body" id="body"></article></body></html>`;

const dir = mkdtempSync(join(tmpdir(), "report-render-"));
const htmlPath = join(dir, "index.html");
writeFileSync(htmlPath, page_html);

// A fresh profile per run (launchPersistentContext passes it as --user-data-dir).
const browser = await chromium.launchPersistentContext(join(dir, "profile"), {
  executablePath: CHROMIUM,
  viewport: { width: WIDTH, height: 1000 },
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let result;
try {
  const page = browser.pages()[0] || await browser.newPage();
  await page.goto("file://" + htmlPath);
  await page.addScriptTag({ path: join(here, "node_modules/marked/lib/marked.umd.js") });
  await page.addScriptTag({ path: join(here, "node_modules", mermaidPackage, "dist/mermaid.min.js") });
  const markdown = readFileSync(reportPath, "utf8");
  result = await page.evaluate(async ({ markdown, needles }) => {
    const body = document.getElementById("body");
    body.innerHTML = marked.parse(markdown, { gfm: true });
    // GitHub's defaults: the diagram keeps its natural size up to the column width (useMaxWidth).
    mermaid.initialize({ startOnLoad: false, securityLevel: "strict", theme: "default" });
    const errors = [];
    const blocks = [...body.querySelectorAll("pre > code.language-mermaid")];
    let n = 0;
    for (const code of blocks) {
      const source = code.textContent;
      const view = document.createElement("div");
      view.className = "mermaid-view";
      code.parentElement.replaceWith(view);
      try {
        await mermaid.parse(source);
        const { svg } = await mermaid.render(`diagram${n++}`, source);
        view.innerHTML = svg;
      } catch (e) {
        errors.push(String(e && e.message || e).slice(0, 500));
        view.textContent = "Mermaid error: " + String(e && e.message || e);
      }
    }
    // Where each needle first shows, with <details> as GitHub first shows them (collapsed unless open).
    const visibleTop = (needle) => {
      const walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        if (!node.textContent.includes(needle)) continue;
        const range = document.createRange();
        range.selectNodeContents(node);
        const rect = range.getBoundingClientRect();
        if (rect.width > 0 && rect.height > 0) return rect.top + window.scrollY;
      }
      return null;
    };
    const tops = Object.fromEntries(needles.map((needle) => [needle, visibleTop(needle)]));
    const unsupported = [];
    const svgs = [...body.querySelectorAll(".mermaid-view > svg")];
    svgs.forEach((svg, i) => { if (svg.textContent.includes("Unsupported markdown")) unsupported.push(i); });
    return { errors, unsupported, needles: tops, blocks: blocks.length };
  }, { markdown, needles });
  await page.screenshot({ path: `${outPrefix}-fold.png`, clip: { x: 0, y: 0, width: WIDTH, height: 1000 } });
  // Expand everything, then measure each diagram as a reader who opens its section sees it.
  result.diagrams = await page.evaluate(() => {
    document.querySelectorAll("details").forEach((d) => { d.open = true; });
    return [...document.querySelectorAll(".mermaid-view > svg")].map((svg) => {
      const shown = svg.getBoundingClientRect().width;
      const natural = svg.viewBox.baseVal && svg.viewBox.baseVal.width || shown;
      const scale = shown / natural;
      let minFont = Infinity;
      for (const el of svg.querySelectorAll(".nodeLabel, .edgeLabel, .cluster-label, text, tspan")) {
        if (!el.textContent.trim()) continue;
        const size = parseFloat(getComputedStyle(el).fontSize);
        if (size > 0) minFont = Math.min(minFont, size * scale);
      }
      return { shown, natural, scale, minFont: minFont === Infinity ? null : minFont,
               title: svg.getAttribute("aria-roledescription") };
    });
  });
  await page.screenshot({ path: `${outPrefix}-full.png`, fullPage: true });
  const views = await page.$$(".mermaid-view");
  for (let i = 0; i < views.length; i++) await views[i].screenshot({ path: `${outPrefix}-diagram${i}.png` });
} finally {
  await browser.close();
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(result) + "\n");
