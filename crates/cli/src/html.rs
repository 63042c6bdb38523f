//! `--html FILE`: one self-contained page of an experiment, for a reader with a browser.
//!
//! The page holds the configuration, the table of restarts (the best highlighted), the
//! statistics over the restarts, the distinct minima when the report keeps the networks, and
//! every plot inline as SVG (the same drawings as `--plot`). Nothing is fetched: the style is
//! inline, the fonts are the reader's own, and a small inline script only adds sorting to the
//! tables; with JavaScript off the page reads the same. Every text that comes from data (file
//! and column names, class names) is escaped.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use backprop_optim::basins::BasinsConfig;
use backprop_optim::stats::Criterion;
use backprop_optim::Init;

use crate::basins::{self, Analysis};
use crate::data::{Labeled, Task};
use crate::model::Model;
use crate::output::write_atomic;
use crate::plot;
use crate::report::{self, loss, percent, Report};

/// Where the basins of a page come from.
enum Minima<'a> {
    /// Measured.
    Found(&'a Analysis),
    /// Not measured: why, and how to get them.
    Missing(String),
}

/// What one page shows.
struct Page<'a> {
    /// The command that wrote it, as `backprop restarts`.
    command: &'a str,
    /// The report file it was made from, if any.
    from: Option<&'a Path>,
    report: &'a Report,
    minima: Minima<'a>,
    /// The best network's decision regions (SVG), for two-input classification.
    boundary: Option<String>,
}

/// Writes the page of `restarts`: the experiment just run, with the basins of its kept
/// networks (`--keep-models`) and the best network's decision regions for two-input
/// classification data (`raw`, unscaled).
///
/// # Errors
/// A drawing that fails, a file that cannot be written.
pub fn write_restarts(path: &Path, report: &Report, raw: &Labeled) -> Result<()> {
    let analysis = if report.runs.iter().any(|r| r.model.is_some()) {
        basins::analyze(report, None, BasinsConfig::default()).map_err(|e| format!("{e:#}"))
    } else {
        Err(String::new())
    };
    let minima = match &analysis {
        Ok(a) => Minima::Found(a),
        Err(why) if why.is_empty() => Minima::Missing(
            "The networks of the restarts were not kept: run <code>backprop restarts ... --keep-models --html FILE</code> \
             to see them here, or <code>backprop restarts ... --keep-models --report FILE</code> then \
             <code>backprop basins FILE --html PAGE</code>."
                .to_owned(),
        ),
        Err(why) => Minima::Missing(format!("Not measured: {}.", esc(why))),
    };
    let boundary = match &report.best {
        Some(best) if raw.inputs.len() == 2 && raw.task == Task::Classification => {
            let model = Model::from_file(best.model.clone(), "the best model")?;
            let title = format!(
                "{}: best of {} restarts (restart {})",
                report.config.data.source, report.config.restarts, best.restart
            );
            Some(plot::boundary_svg(&model, raw, &title)?)
        }
        _ => None,
    };
    let page = Page {
        command: "backprop restarts",
        from: None,
        report,
        minima,
        boundary,
    };
    write_atomic(path, page.render()?.as_bytes())
}

/// Writes the page of `stats`: the report at `from`, with its statistics.
///
/// # Errors
/// A drawing that fails, a file that cannot be written.
pub fn write_stats(path: &Path, report: &Report, from: &Path) -> Result<()> {
    let shown = esc(&from.display().to_string());
    let hint = if report.runs.iter().any(|r| r.model.is_some()) {
        format!(
            "This report keeps the restarts' networks: <code>backprop basins {shown} --html PAGE</code> adds their distinct minima."
        )
    } else {
        "The report keeps no restart's network: run <code>backprop restarts ... --keep-models --html FILE</code> to see the distinct minima here.".to_owned()
    };
    let page = Page {
        command: "backprop stats",
        from: Some(from),
        report,
        minima: Minima::Missing(hint),
        boundary: None,
    };
    write_atomic(path, page.render()?.as_bytes())
}

/// Writes the page of `basins`: the report at `from` with its measured minima. A report read
/// without statistics gets them under the default criterion (`auto`, 95%).
///
/// # Errors
/// A drawing that fails, a file that cannot be written.
pub fn write_basins(path: &Path, report: &Report, analysis: &Analysis, from: &Path) -> Result<()> {
    let mut report = report.clone();
    if report.statistics.is_none() {
        report.compute_statistics(Criterion::Auto, 0.95)?;
    }
    let page = Page {
        command: "backprop basins",
        from: Some(from),
        report: &report,
        minima: Minima::Found(analysis),
        boundary: None,
    };
    write_atomic(path, page.render()?.as_bytes())
}

/// `text` with the characters that mean something in HTML replaced by entities.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An SVG drawing for inlining: HTML needs no namespace (and the page names no URL).
fn inline_svg(svg: &str, label: &str) -> String {
    let svg = svg.replacen(r#" xmlns="http://www.w3.org/2000/svg""#, "", 1);
    svg.replacen(
        "<svg ",
        &format!(r#"<svg role="img" aria-label="{}" "#, esc(label)),
        1,
    )
}

/// A figure: the drawing and its caption.
fn figure(out: &mut String, svg: &str, caption: &str) {
    let _ = writeln!(
        out,
        "<figure>{}<figcaption>{caption}</figcaption></figure>",
        inline_svg(svg, caption)
    );
}

/// A ratio or a distance with 4 significant digits, in scientific notation only when far from 1.
fn short(x: f64) -> String {
    if x == 0.0 || !x.is_finite() {
        x.to_string()
    } else if (1e-3..1e4).contains(&x.abs()) {
        let digits = (3 - x.abs().log10().floor() as i32).max(0) as usize;
        format!("{x:.digits$}")
    } else {
        format!("{x:.3e}")
    }
}

/// A number as the sorting script reads it (`parseFloat`): what is not finite sorts last.
fn sort_key(x: f64) -> String {
    let x = if x.is_nan() || x == f64::INFINITY {
        f64::MAX
    } else if x == f64::NEG_INFINITY {
        f64::MIN
    } else {
        x
    };
    format!("{x:e}")
}

/// A table cell of a number, right-aligned; `key` sorts it.
fn num(text: &str, key: f64) -> String {
    format!(
        r#"<td class="num" data-key="{}">{}</td>"#,
        sort_key(key),
        esc(text)
    )
}

const STYLE: &str = r#"
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --soft: #f6f8fa; --accent: #0969da;
  --best: #fff1c2; --bad: #cf222e; --good: #1a7f37; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 24px 28px 48px; }
header { border-bottom: 3px solid var(--accent); padding-bottom: 10px; margin-bottom: 18px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 16px; margin: 22px 0 8px; }
p { margin: 6px 0 10px; }
.sub { color: var(--muted); margin: 0; }
code { font: 13px/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; background: var(--soft);
  padding: 1px 4px; border-radius: 4px; }
nav { font-size: 14px; color: var(--muted); margin: 6px 0 0; }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(148px, 1fr)); gap: 12px; margin: 14px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: var(--soft); }
.card .k { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
.card .v { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .n { font-size: 13px; color: var(--muted); overflow-wrap: anywhere; }
dl.config { display: grid; grid-template-columns: max-content 1fr; gap: 3px 18px; margin: 8px 0; }
dl.config dt { color: var(--muted); }
dl.config dd { margin: 0; }
figure { margin: 14px 0 20px; }
figure svg { display: block; width: 100%; max-width: 1200px; height: auto; border: 1px solid var(--line); border-radius: 6px; }
.pair { display: grid; grid-template-columns: minmax(0, 600px) 1fr; gap: 28px; align-items: start; }
.pair figure { margin-top: 0; }
.pair dl.config { margin-top: 4px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.scroll { overflow-x: auto; max-height: 640px; overflow-y: auto; border: 1px solid var(--line); border-radius: 6px; }
table { border-collapse: collapse; font-size: 14px; width: 100%; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); white-space: nowrap; }
th { background: var(--soft); text-align: left; position: sticky; top: 0; font-weight: 600; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #fbfcfd; }
tr.best td { background: var(--best); font-weight: 600; }
tr.diverged td { color: var(--bad); }
tr.zero td { color: var(--muted); font-style: italic; border-top: 2px solid var(--line); }
.tag { display: inline-block; font-size: 11px; font-weight: 600; padding: 0 6px; border-radius: 9px;
  background: #bf8700; color: #fff; margin-left: 6px; font-style: normal; }
.yes { color: var(--good); }
.no { color: var(--muted); }
.note { color: var(--muted); font-size: 14px; }
.hint { border-left: 4px solid var(--accent); background: var(--soft); padding: 8px 12px; border-radius: 4px; }
th[data-sort] { cursor: pointer; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; border-top: 1px solid var(--line); padding-top: 8px; }
"#;

/// Sorting by a click on a column's header; the tables read the same without it.
const SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function (t) {
  t.querySelectorAll('thead th').forEach(function (th, i) {
    th.dataset.sort = '';
    th.title = 'sort';
    th.addEventListener('click', function () {
      var body = t.tBodies[0], rows = Array.prototype.slice.call(body.rows);
      var up = th.dataset.sort !== 'up';
      rows.sort(function (a, b) {
        var x = a.cells[i], y = b.cells[i];
        var kx = x.dataset.key, ky = y.dataset.key, c;
        if (kx !== undefined && ky !== undefined) { c = parseFloat(kx) - parseFloat(ky); }
        else { c = x.textContent.localeCompare(y.textContent); }
        return up ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
      th.dataset.sort = up ? 'up' : 'down';
    });
  });
});
"#;

impl Page<'_> {
    fn render(&self) -> Result<String> {
        let r = self.report;
        let c = &r.config;
        let title = format!("{} restarts on {}", c.restarts, c.data.source);
        let mut out = String::with_capacity(1 << 18);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>backprop: {}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
            esc(&title)
        );
        let from = self.from.map_or(String::new(), |p| {
            format!(" from <code>{}</code>", esc(&p.display().to_string()))
        });
        let _ = writeln!(
            out,
            "<header><h1>{}</h1><p class=\"sub\">Written by <code>{}</code>{from} (backprop {}): the lecture's \
             multi-layer network trained by SGD from {} random initializations, the best kept.</p>",
            esc(&title),
            self.command,
            env!("CARGO_PKG_VERSION"),
            c.restarts
        );
        let _ = writeln!(
            out,
            "<nav><a href=\"#configuration\">Configuration</a><a href=\"#restarts\">Restarts</a>\
             <a href=\"#statistics\">Statistics</a><a href=\"#minima\">Distinct minima</a></nav></header>"
        );
        self.cards(&mut out);
        self.configuration(&mut out);
        self.restarts(&mut out)?;
        self.statistics(&mut out)?;
        self.minima(&mut out)?;
        let _ = writeln!(
            out,
            "<footer>One self-contained file: no script, style or font is fetched. The same numbers are in \
             the report (<code>--report</code>) and printed by <code>backprop</code>.</footer>\n</main>\n\
             <script>{SCRIPT}</script>\n</body>\n</html>"
        );
        Ok(out)
    }

    /// The key numbers, at the top.
    fn cards(&self, out: &mut String) {
        let r = self.report;
        let what = r.score_name();
        out.push_str("<section class=\"cards\">\n");
        let mut card = |k: &str, v: &str, n: &str| {
            let _ = writeln!(
                out,
                "<div class=\"card\"><div class=\"k\">{k}</div><div class=\"v\">{v}</div><div class=\"n\">{n}</div></div>"
            );
        };
        let best = r
            .best
            .as_ref()
            .and_then(|b| r.runs.iter().find(|x| x.restart == b.restart));
        match best {
            Some(b) => {
                card(
                    "best restart",
                    &b.restart.to_string(),
                    &format!("of {}", r.runs.len()),
                );
                card(&format!("best {what}"), &loss(b.score), "");
                if let Some(a) = b.accuracy() {
                    card("best accuracy", &percent(a), "");
                }
            }
            None => card("best restart", "none", "every restart diverged"),
        }
        if let Some(s) = &r.statistics {
            card(
                "success",
                &format!("{} of {}", s.success.count, s.success.restarts),
                &format!(
                    "p = {:.3}, {}% interval [{:.3}, {:.3}]",
                    s.success.p,
                    100.0 * s.success.confidence,
                    s.lower(),
                    s.upper()
                ),
            );
            let needed = s
                .restarts_needed
                .at_p
                .map_or("none".to_owned(), |k| k.to_string());
            card(
                "restarts needed",
                &needed,
                &format!(
                    "for a success with probability {}%",
                    100.0 * s.success.confidence
                ),
            );
        }
        if let Some(z) = &r.baseline {
            card("zero init", &loss(z.score), what);
        }
        if let Minima::Found(a) = &self.minima {
            card(
                "distinct minima",
                &a.basins.groups.len().to_string(),
                &format!("among {} restarts", a.basins.networks.len()),
            );
        }
        out.push_str("</section>\n");
    }

    fn configuration(&self, out: &mut String) {
        let c = &self.report.config;
        let d = &c.data;
        out.push_str("<h2 id=\"configuration\">Configuration</h2>\n<dl class=\"config\">\n");
        let mut row = |k: &str, v: String| {
            let _ = writeln!(out, "<dt>{k}</dt><dd>{v}</dd>");
        };
        row(
            "data",
            match d.reading() {
                Some(r) => format!("<code>{}</code> ({}), {}", esc(&d.source), esc(&r), d.task),
                None => format!("<code>{}</code>, {}", esc(&d.source), d.task),
            },
        );
        row(
            "rows",
            format!(
                "{} ({} training, {} validation)",
                d.rows, d.train_rows, d.validation_rows
            ),
        );
        let list = |v: &[String]| {
            let shown: Vec<String> = v.iter().take(12).map(|s| esc(s)).collect();
            let more = v.len().saturating_sub(12);
            let mut t = shown.join(", ");
            if more > 0 {
                let _ = write!(t, " and {more} more");
            }
            t
        };
        row("inputs", format!("{}: {}", d.inputs.len(), list(&d.inputs)));
        if !d.targets.is_empty() {
            row("targets", list(&d.targets));
        }
        if !d.classes.is_empty() {
            row("classes", list(&d.classes));
        }
        let widths: Vec<String> = c.network.widths.iter().map(usize::to_string).collect();
        row(
            "network",
            format!(
                "{} ({} hidden, {} output), {} loss",
                widths.join("-"),
                c.network.activation.name(),
                c.network.output_activation.name(),
                c.network.loss
            ),
        );
        row(
            "update rule",
            format!(
                "{}: learning rate {}, {} epochs, batch {}",
                report::rule_family(c.sgd.optimizer),
                c.sgd.learning_rate,
                c.sgd.epochs,
                c.sgd.batch_size
            ),
        );
        let mut extras = report::sgd_extras(&c.sgd);
        if c.bias_init != Init::Zero {
            extras.insert(0, format!("biases {} init", c.bias_init));
        }
        if !extras.is_empty() {
            row("settings", esc(&extras.join(", ")));
        }
        row(
            "initialization",
            format!("{}, master seed {}", c.init, c.seed),
        );
        row(
            "scaling",
            if c.scale {
                "inputs (and regression targets) standardized".to_owned()
            } else {
                "none".to_owned()
            },
        );
        row(
            "restarts",
            format!(
                "{}, in {:.2} s",
                self.report.runs.len(),
                self.report.seconds
            ),
        );
        if let Some(s) = self.report.shard {
            row(
                "shard",
                format!("{}/{} (a partial report)", s.index, s.count),
            );
        }
        out.push_str("</dl>\n");
    }

    fn restarts(&self, out: &mut String) -> Result<()> {
        let r = self.report;
        let what = r.score_name();
        out.push_str("<h2 id=\"restarts\">Restarts</h2>\n");
        if !r.runs.is_empty() {
            figure(
                out,
                &plot::restarts_svg(r)?,
                &format!("The {what} of every restart over the epochs, and the distribution of the final scores."),
            );
        }
        if let Some(b) = &self.boundary {
            self.best_network(out, b);
        }
        let classification = r.config.data.task == Task::Classification;
        let validation = r.config.data.validation_rows > 0;
        let best = r.best.as_ref().map(|b| b.restart);
        let criterion = r.statistics.as_ref().and_then(|s| {
            s.success
                .criterion
                .parse::<Criterion>()
                .ok()
                .map(|c| (c, s.success.criterion.clone()))
        });
        let best_score = r
            .runs
            .iter()
            .filter(|x| !x.diverged)
            .map(|x| x.score)
            .fold(f64::INFINITY, f64::min);
        let _ = writeln!(
            out,
            "<p class=\"note\">One row per restart; the best (lowest {what}) is highlighted. Click a column's header to sort.{}</p>",
            criterion.as_ref().map_or(String::new(), |(_, name)| format!(
                " A success is a restart that meets <code>{}</code>.",
                esc(name)
            ))
        );
        out.push_str(
            "<div class=\"scroll\"><table class=\"sortable\" id=\"restarts-table\">\n<thead><tr>",
        );
        let mut head = vec!["restart", "seed", "train loss"];
        if validation {
            head.push("val loss");
        }
        if classification {
            head.push(if validation { "val acc" } else { "train acc" });
        }
        head.extend(["epochs", "best epoch", "seconds"]);
        if criterion.is_some() {
            head.push("success");
        }
        head.push("diverged");
        for h in &head {
            let class = if matches!(*h, "success" | "diverged") {
                ""
            } else {
                " class=\"num\""
            };
            let _ = write!(out, "<th{class}>{h}</th>");
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        let row = |out: &mut String, x: &report::RunRecord, label: &str, class: &str| {
            let _ = write!(out, "<tr class=\"{class}\">");
            let tag = if class == "best" {
                "<span class=\"tag\">best</span>"
            } else {
                ""
            };
            let key = if class == "zero" {
                f64::INFINITY
            } else {
                x.restart as f64
            };
            let _ = write!(
                out,
                "<td class=\"num\" data-key=\"{}\">{}{tag}</td>",
                sort_key(key),
                esc(label)
            );
            out.push_str(&num(&x.seed.to_string(), x.seed as f64));
            out.push_str(&num(&loss(x.final_train_loss), x.final_train_loss));
            if validation {
                let v = x.final_validation_loss;
                out.push_str(&num(
                    &v.map_or("-".into(), loss),
                    v.unwrap_or(f64::INFINITY),
                ));
            }
            if classification {
                let a = x.accuracy();
                out.push_str(&num(&a.map_or("-".into(), percent), a.unwrap_or(-1.0)));
            }
            out.push_str(&num(&x.epochs.to_string(), x.epochs as f64));
            out.push_str(&num(
                &(x.best_epoch + 1).to_string(),
                (x.best_epoch + 1) as f64,
            ));
            out.push_str(&num(&format!("{:.3}", x.seconds), x.seconds));
            if let Some((c, _)) = &criterion {
                if class == "zero" {
                    out.push_str("<td></td>");
                } else if c.succeeds(x.score, x.accuracy(), best_score) {
                    out.push_str("<td class=\"yes\">yes</td>");
                } else {
                    out.push_str("<td class=\"no\">no</td>");
                }
            }
            let d = if x.diverged { "yes" } else { "no" };
            let _ = writeln!(out, "<td>{d}</td></tr>");
        };
        for x in &r.runs {
            let class = if Some(x.restart) == best {
                "best"
            } else if x.diverged {
                "diverged"
            } else {
                ""
            };
            row(out, x, &x.restart.to_string(), class);
        }
        out.push_str("</tbody>\n");
        if let Some(z) = &r.baseline {
            out.push_str("<tfoot>");
            row(out, z, "zero init", "zero");
            out.push_str("</tfoot>\n");
        }
        out.push_str("</table></div>\n");
        if r.baseline.is_some() {
            out.push_str(
                "<p class=\"note\">Zero init: every weight and bias 0, restart 0's sample order. From zero, every \
                 hidden unit of a layer gets the same updates and stays a copy of the others: the lecture's symmetry.</p>\n",
            );
        }
        Ok(())
    }

    /// The best network's decision regions beside its numbers.
    fn best_network(&self, out: &mut String, svg: &str) {
        let r = self.report;
        let Some(best) = r
            .best
            .as_ref()
            .and_then(|b| r.runs.iter().find(|x| x.restart == b.restart))
        else {
            return;
        };
        let _ = writeln!(
            out,
            "<h3>The best network</h3>\n<div class=\"pair\"><figure>{}<figcaption>Its decision regions over \
             all the rows of the data (training and validation), in the data's own units.</figcaption></figure>\n\
             <dl class=\"config\">",
            inline_svg(svg, "decision regions of the best network")
        );
        let mut row = |k: &str, v: String| {
            let _ = writeln!(out, "<dt>{k}</dt><dd>{v}</dd>");
        };
        row("restart", best.restart.to_string());
        row("seed", best.seed.to_string());
        row("training loss", loss(best.final_train_loss));
        if let Some(v) = best.final_validation_loss {
            row("validation loss", loss(v));
        }
        if let Some(a) = best.train_accuracy {
            row("training accuracy", percent(a));
        }
        if let Some(a) = best.final_validation_accuracy {
            row("validation accuracy", percent(a));
        }
        row(
            "epochs",
            format!(
                "{}, the lowest {} at epoch {}",
                best.epochs,
                r.score_name(),
                best.best_epoch + 1
            ),
        );
        if let Some(z) = &r.baseline {
            let mut t = format!("{} {}", r.score_name(), loss(z.score));
            if let Some(a) = z.accuracy() {
                let _ = write!(t, ", accuracy {}", percent(a));
            }
            row("zero init, for comparison", t);
        }
        out.push_str("</dl></div>\n");
    }

    fn statistics(&self, out: &mut String) -> Result<()> {
        let r = self.report;
        out.push_str("<h2 id=\"statistics\">Statistics over the restarts</h2>\n");
        let Some(s) = &r.statistics else {
            out.push_str(
                "<p class=\"hint\">No statistics: a shard's partial report has none. Merge the parts \
                 (<code>backprop merge</code>), then <code>backprop stats REPORT --html PAGE</code>.</p>\n",
            );
            return Ok(());
        };
        let level = format!("{}%", 100.0 * s.success.confidence);
        let _ = writeln!(
            out,
            "<p>Success ({}<code>{}</code>): <b>{} of {}</b> restarts, p = {:.3}, {level} interval \
             [{:.3}, {:.3}] (Clopper-Pearson).</p>",
            if s.auto { "auto: " } else { "" },
            esc(&s.success.criterion),
            s.success.count,
            s.success.restarts,
            s.success.p,
            s.lower(),
            s.upper()
        );
        let n = &s.restarts_needed;
        let needed = match (n.at_p, n.at_lower) {
            (None, _) => "none can be given: no restart succeeded".to_owned(),
            (Some(k), Some(kl)) => format!(
                "<b>{k}</b> at p = {:.3}, {kl} at the lower end {:.3}",
                s.success.p,
                s.lower()
            ),
            (Some(k), None) => format!(
                "<b>{k}</b> at p = {:.3}, none at the lower end 0",
                s.success.p
            ),
        };
        let _ = writeln!(
            out,
            "<p>Restarts needed for a success with probability {level}: {needed}.</p>"
        );
        figure(
            out,
            &plot::stats_svg(r)?,
            "Left: the empirical distribution of the scores, with the success threshold. Right: the \
             expected best score of k random restarts, and the probability that they hold a success.",
        );
        let what = r.score_name();
        let _ = writeln!(
            out,
            "<h3>Best of k random restarts</h3>\n<table class=\"sortable\" style=\"width:auto\">\n\
             <thead><tr><th class=\"num\">k</th><th class=\"num\">expected best {what}</th>\
             <th class=\"num\">P(a success)</th></tr></thead>\n<tbody>"
        );
        let len = s.best_of_k.len();
        let mut ks: Vec<usize> = std::iter::successors(Some(1usize), |k| k.checked_mul(2))
            .take_while(|&k| k < len)
            .collect();
        ks.push(len);
        for b in ks.iter().filter_map(|&k| s.best_of_k.get(k - 1)) {
            let _ = writeln!(
                out,
                "<tr>{}{}{}</tr>",
                num(&b.k.to_string(), b.k as f64),
                num(&loss(b.expected), b.expected),
                num(&report::chance(b.p_success), b.p_success)
            );
        }
        out.push_str("</tbody></table>\n");
        Ok(())
    }

    fn minima(&self, out: &mut String) -> Result<()> {
        out.push_str("<h2 id=\"minima\">Distinct minima</h2>\n");
        let a = match &self.minima {
            Minima::Missing(why) => {
                let _ = writeln!(out, "<p class=\"hint\">{why}</p>");
                return Ok(());
            }
            Minima::Found(a) => a,
        };
        let label = |i: usize| {
            a.rows[i]
                .restart
                .map_or("zero init".to_owned(), |r| r.to_string())
        };
        let flips = if a.flips { " and sign flips" } else { "" };
        let _ = writeln!(
            out,
            "<p>{} restarts on <code>{}</code> ({} rows), each aligned to the best (restart {}) modulo \
             permutations{flips} of its hidden units, then grouped: two restarts are one minimum when the loss \
             barrier between them, aligned, is at most {} (<code>--tolerance</code>).</p>",
            a.basins.networks.len(),
            esc(&a.source),
            a.data_rows,
            label(a.basins.best),
            a.config.tolerance
        );
        figure(
            out,
            &a.svg()?,
            &format!(
                "Left: the relative distance ||θ - θ_best|| / ||θ_best|| before and after alignment. Right: the \
                 loss on the straight segment from the best to each restart, aligned, at {} points.",
                a.config.points
            ),
        );
        out.push_str(
            "<h3>Minima</h3>\n<table class=\"sortable\" style=\"width:auto\">\n<thead><tr><th class=\"num\">minimum</th>\
             <th class=\"num\">size</th><th class=\"num\">best score</th><th class=\"num\">representative</th>\
             <th>members</th></tr></thead>\n<tbody>\n",
        );
        for (g, group) in a.basins.groups.iter().enumerate() {
            let members: Vec<String> = group.members.iter().map(|&i| label(i)).collect();
            let class = if group.members.contains(&a.basins.best) {
                " class=\"best\""
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "<tr{class}>{}{}{}{}<td>{}</td></tr>",
                num(&g.to_string(), g as f64),
                num(&group.members.len().to_string(), group.members.len() as f64),
                num(&loss(group.best_score), group.best_score),
                num(&label(group.representative), group.representative as f64),
                esc(&members.join(", "))
            );
        }
        out.push_str("</tbody></table>\n");
        let classification = a.task == Task::Classification;
        out.push_str(
            "<h3>Each restart against the best</h3>\n<div class=\"scroll\"><table class=\"sortable\">\n<thead><tr>\
             <th class=\"num\">restart</th><th class=\"num\">minimum</th><th class=\"num\">score</th>\
             <th class=\"num\">distance</th><th class=\"num\">aligned</th><th class=\"num\">output diff</th>",
        );
        if classification {
            out.push_str("<th class=\"num\">disagree</th>");
        }
        out.push_str("<th class=\"num\">barrier</th>");
        let layers: Vec<usize> = a.rows[0].health.iter().map(|h| h.layer).collect();
        for l in &layers {
            let _ = write!(out, "<th class=\"num\">layer {l} dead/sat/dup</th>");
        }
        out.push_str("</tr></thead>\n<tbody>\n");
        for (i, row) in a.rows.iter().enumerate() {
            let class = if i == a.basins.best {
                "best"
            } else if row.restart.is_none() {
                "zero"
            } else {
                ""
            };
            let tag = if i == a.basins.best {
                "<span class=\"tag\">best</span>"
            } else {
                ""
            };
            let key = row.restart.map_or(f64::INFINITY, |r| r as f64);
            let _ = write!(
                out,
                "<tr class=\"{class}\"><td class=\"num\" data-key=\"{}\">{}{tag}</td>",
                sort_key(key),
                esc(&label(i))
            );
            let group = row.group.map_or("-".to_owned(), |g| g.to_string());
            out.push_str(&num(&group, row.group.map_or(f64::INFINITY, |g| g as f64)));
            out.push_str(&num(&loss(row.score), row.score));
            for x in [
                row.distance_before,
                row.distance_after,
                row.output_difference,
            ] {
                out.push_str(&num(&short(x), x));
            }
            if classification {
                out.push_str(&num(&percent(row.disagreement), row.disagreement));
            }
            out.push_str(&num(&short(row.barrier), row.barrier));
            for h in &row.health {
                let bad = h.dead + h.saturated + h.duplicates;
                out.push_str(&num(
                    &format!("{}/{}/{} of {}", h.dead, h.saturated, h.duplicates, h.units),
                    bad as f64,
                ));
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table></div>\n");
        if !a.left_out.is_empty() {
            let shown: Vec<String> = a.left_out.iter().map(usize::to_string).collect();
            let _ = writeln!(
                out,
                "<p class=\"note\">Left out: restart {} (diverged, or no kept network).</p>",
                shown.join(", ")
            );
        }
        let _ = writeln!(
            out,
            "<p class=\"note\">Distance: relative parameter distance to the best, before and after alignment. \
             Output diff: mean |prediction − best's| on the data.{} Barrier: the largest excess of the loss over \
             the straight line between the two ends, on the segment between the aligned pair. Unit health per \
             hidden layer, as dead/saturated/duplicate of n<sub>l</sub> units: dead = ReLU with s ≤ 0 on every row; \
             saturated = sigmoid or tanh with |s| &gt; {} on more than {}% of the rows; duplicate = another unit \
             of the layer has the same incoming weights and bias (within {:e} relative), a copy that gets the \
             same updates forever.</p>",
            if classification {
                " Disagree: the rows whose predicted class differs from the best's."
            } else {
                ""
            },
            a.config.saturation,
            100.0 * a.config.saturated_fraction,
            a.config.duplicate_tolerance
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_html_reads_as_markup() {
        assert_eq!(
            esc(r#"<b>"x" & 'y'</b>"#),
            "&lt;b&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/b&gt;"
        );
        assert_eq!(esc("plain ü"), "plain ü");
    }

    #[test]
    fn inlined_svg_names_no_url_and_gets_a_label() {
        let svg = r#"<svg width="10" height="10" viewBox="0 0 10 10" xmlns="http://www.w3.org/2000/svg"><rect/></svg>"#;
        let inlined = inline_svg(svg, "a <plot>");
        assert!(!inlined.contains("http"), "{inlined}");
        assert!(
            inlined.starts_with(r#"<svg role="img" aria-label="a &lt;plot&gt;" width="10""#),
            "{inlined}"
        );
        assert!(inlined.contains("viewBox=\"0 0 10 10\""));
    }

    #[test]
    fn short_numbers_keep_four_digits() {
        assert_eq!(short(1.4751), "1.475");
        assert_eq!(short(0.012345), "0.01235");
        assert_eq!(short(1.2e-18), "1.200e-18");
        assert_eq!(short(0.0), "0");
        assert_eq!(short(12345.0), "1.234e4");
    }

    #[test]
    fn numbers_sort_by_their_value_and_nan_last() {
        assert_eq!(
            num("0.5", 0.5),
            r#"<td class="num" data-key="5e-1">0.5</td>"#
        );
        let nan = num("NaN", f64::NAN);
        assert!(nan.contains("data-key=\"1.7976931348623157e308\""), "{nan}");
    }
}
