//! The HTML report (`--html`) in a real browser: headless Chromium renders the page of a small
//! experiment, its DOM holds the tables and the inline SVG plots, names from the data arrive
//! as text (escaped), and its screenshot is not blank.
//!
//! Ignored by default (it needs Chromium); `.ci/browser.sh` installs Chromium when it is missing
//! and runs this with `--ignored`. `BACKPROP_CHROMIUM` names another browser binary.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

type TestResult = Result<(), Box<dyn Error>>;

/// Chromium: `BACKPROP_CHROMIUM`, else `/usr/bin/chromium`.
fn chromium() -> PathBuf {
    std::env::var_os("BACKPROP_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from)
}

/// Runs headless Chromium on `page` with `extra` flags; its stdout. Fails after two minutes.
fn headless(profile: &Path, page: &Path, extra: &[&str]) -> Result<Vec<u8>, Box<dyn Error>> {
    let browser = chromium();
    if !browser.exists() {
        return Err(format!(
            "{} not found: install Chromium (.ci/browser.sh does) or set BACKPROP_CHROMIUM",
            browser.display()
        )
        .into());
    }
    let out_file = profile.join("stdout");
    let mut child = Command::new(&browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!(
            "--user-data-dir={}",
            profile.join("profile").display()
        ))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&out_file)?)
        .stderr(Stdio::null())
        .spawn()?;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > Duration::from_secs(120) {
            child.kill()?;
            child.wait()?;
            return Err("chromium did not finish in two minutes".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "chromium failed: {status}");
    Ok(std::fs::read(out_file)?)
}

/// XOR-like data with column names that are HTML markup, in a file whose name is too.
fn hostile_csv(dir: &Path) -> std::io::Result<PathBuf> {
    let path = dir.join("xor <b>&amp; co.csv");
    let mut text = String::from("x<1>,x&2,<i>class</i>\n");
    for k in 0..48u32 {
        // Four noisy corners of [-1, 1]^2, from a fixed sequence (no RNG needed).
        let (a, b) = (k % 2, (k / 2) % 2);
        let jitter = f64::from((k * 37) % 17) / 17.0 * 0.4 - 0.2;
        let x1 = if a == 1 { 1.0 } else { -1.0 } + jitter;
        let x2 = if b == 1 { 1.0 } else { -1.0 } - jitter;
        let class = if a == b { "even" } else { "odd" };
        text.push_str(&format!("{x1},{x2},{class}\n"));
    }
    std::fs::write(&path, text)?;
    Ok(path)
}

#[test]
#[ignore = "needs Chromium: .ci/browser.sh installs it and runs this test with --ignored"]
fn html_report_renders_in_chromium() -> TestResult {
    let dir = tempfile::tempdir()?;
    let data = hostile_csv(dir.path())?;
    let page = dir.path().join("report.html");
    let status = Command::new(env!("CARGO_BIN_EXE_backprop"))
        .args(["restarts", "--data"])
        .arg(&data)
        .args([
            "--hidden",
            "4",
            "--activation",
            "tanh",
            "--lr",
            "0.2",
            "--epochs",
            "40",
            "--restarts",
            "6",
            "--validation",
            "0",
            "--keep-models",
            "--quiet",
            "--html",
        ])
        .arg(&page)
        .stdout(Stdio::null())
        .status()?;
    assert!(
        status.success(),
        "backprop restarts --html failed: {status}"
    );
    let html = std::fs::read_to_string(&page)?;
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "the page names a URL"
    );
    assert!(
        !html.contains(" src=") && !html.contains("<link"),
        "the page loads something"
    );

    // The DOM after the page's own script ran.
    let dom = String::from_utf8(headless(dir.path(), &page, &["--dump-dom"])?)?;
    let count = |needle: &str| dom.matches(needle).count();
    assert!(
        count("<table") >= 4,
        "restarts, best of k, minima, each restart: {} tables",
        count("<table")
    );
    assert!(
        count("<svg") >= 4,
        "restarts, decision regions, statistics, minima: {} SVGs",
        count("<svg")
    );
    for text in [
        "6 restarts on",
        "Configuration",
        "Statistics over the restarts",
        "Distinct minima",
        "Best of k random restarts",
        "zero init",
        "class=\"best\"",
    ] {
        assert!(dom.contains(text), "the DOM lacks {text:?}");
    }
    // Names from the data arrive as text, not as markup.
    assert!(
        dom.contains("x&lt;1&gt;") && dom.contains("&lt;i&gt;class&lt;/i&gt;"),
        "column names not shown escaped"
    );
    assert!(
        dom.contains("xor &lt;b&gt;&amp;amp; co.csv"),
        "file name not shown escaped"
    );
    assert!(
        !dom.contains("<i>class</i>") && !dom.contains("<b>&amp;"),
        "data became markup"
    );
    // The script made the restarts' columns sortable.
    assert!(
        dom.contains("data-sort=\"\""),
        "the sorting script did not run"
    );

    // The screenshot: many colours (plots, highlighted row), and far from blank.
    let shot = dir.path().join("shot.png");
    headless(
        dir.path(),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
        ],
    )?;
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot)?));
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    assert_eq!((info.width, info.height), (1280, 2000));
    let channels = info.color_type.samples();
    assert!(
        channels >= 3,
        "a colour screenshot, not {:?}",
        info.color_type
    );
    let pixels: Vec<[u8; 3]> = buf[..info.buffer_size()]
        .chunks_exact(channels)
        .map(|p| [p[0], p[1], p[2]])
        .collect();
    let distinct: std::collections::HashSet<[u8; 3]> = pixels.iter().copied().collect();
    let not_white = pixels.iter().filter(|p| p.iter().any(|&c| c < 240)).count();
    let fraction = not_white as f64 / pixels.len() as f64;
    assert!(
        distinct.len() >= 64,
        "only {} distinct colours: a blank page?",
        distinct.len()
    );
    assert!(
        fraction > 0.05,
        "only {:.1}% of the pixels are not white",
        100.0 * fraction
    );
    Ok(())
}
