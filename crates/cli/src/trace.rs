//! `backprop trace`: one sample through the lecture's forward and backward passes, in the
//! lecture's notation, as text or JSON. The numbers are `backprop_optim::trace::trace`'s, which
//! are the network's own.

use std::fmt::Write as _;

use anyhow::{bail, Result};
use backprop_network::Loss;
use backprop_optim::trace::trace;
use serde_json::{json, Value};

use crate::args::TraceArgs;
use crate::commands::print;
use crate::data::Task;
use crate::model::Model;
use crate::setup::{load_for_model, ModelData};

/// A number for the text: 6 decimals, or scientific where that would hide it.
fn num(x: f64) -> String {
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) {
        format!("{x:.6}")
    } else {
        format!("{x:.4e}")
    }
}

fn vector(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|&x| num(x)).collect();
    format!("[{}]", parts.join(", "))
}

/// `backprop trace`.
///
/// # Errors
/// Bad model or data, a row out of range, data without the target column.
pub fn run(args: &TraceArgs) -> Result<()> {
    let input = &args.input;
    let model = Model::load(&input.model)?;
    let name = input.model.display().to_string();
    let (data, _) = load_for_model(
        ModelData {
            data: &input.data,
            target: &input.target,
            drop: &input.drop,
            seed: input.seed,
            delimiter: input.delimiter,
            no_header: input.no_header,
            keep: &[],
            model: &name,
        },
        &model,
        true,
    )?;
    let k = args.row;
    if k >= data.len() {
        bail!(
            "{}: --row {k} is out of range: the data has {} rows (0 to {})",
            data.source,
            data.len(),
            data.len().saturating_sub(1)
        );
    }
    let raw: Vec<f64> = data.x.column(k).iter().copied().collect();
    let mut x = raw.clone();
    if let Some(s) = &model.input_scaling {
        s.apply(&mut x);
    }
    let mut y: Vec<f64> = data.y.column(k).iter().copied().collect();
    if let Some(s) = &model.target_scaling {
        s.apply(&mut y);
    }
    let net = &model.network;
    let t = trace(net, &x, &y)?;
    let d = net.depth();
    let class = (model.task == Task::Classification)
        .then(|| {
            y.iter()
                .position(|&v| v == 1.0)
                .map(|c| model.classes[c].clone())
        })
        .flatten();
    if args.json {
        let layers: Vec<Value> = t
            .layers
            .iter()
            .map(|lt| {
                let g = &lt.dl_dw;
                let layer = &net.layers()[lt.l - 1];
                let w = layer.weights();
                json!({
                    "l": lt.l,
                    "activation": layer.activation(),
                    "w": (0..w.nrows()).map(|z| (0..w.ncols()).map(|j| w[(z, j)]).collect::<Vec<f64>>()).collect::<Vec<_>>(),
                    "b": layer.bias(),
                    "s": lt.s,
                    "v": lt.v,
                    "dl_dv": lt.dl_dv,
                    "delta": lt.delta,
                    "dl_dw": (0..g.nrows()).map(|z| (0..g.ncols()).map(|j| g[(z, j)]).collect::<Vec<f64>>()).collect::<Vec<_>>(),
                    "dl_db": lt.dl_db,
                })
            })
            .collect();
        let value = json!({
            "model": input.model.display().to_string(),
            "data": data.source,
            "row": k,
            "loss_function": net.loss(),
            "x": raw,
            "v_0": t.x,
            "y": t.y,
            "class": class,
            "loss": t.loss,
            "layers": layers,
        });
        return print(&format!("{}\n", crate::output::pretty_json(&value)?));
    }
    let widths: Vec<String> = net.widths().iter().map(usize::to_string).collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "trace of {} on {}, row {k}: network {}, {} loss",
        input.model.display(),
        data.source,
        widths.join("-"),
        net.loss()
    );
    let _ = writeln!(
        out,
        "W_i is n_i x n_{{i+1}}, column j is w_{{i,j}} (the weights into node j of layer i+1); numbers rounded, --json gives them exactly\n"
    );
    let names = if data.inputs.is_empty() {
        String::new()
    } else {
        format!(" ({})", data.inputs.join(", "))
    };
    let _ = writeln!(out, "x          ({}) = {}{names}", raw.len(), vector(&raw));
    match &model.input_scaling {
        Some(_) => {
            let _ = writeln!(
                out,
                "v_0 = (x - mean) / std, the model's input scaling ({}) = {}",
                t.x.len(),
                vector(&t.x)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "v_0 = x (no input scaling) ({}) = {}",
                t.x.len(),
                vector(&t.x)
            );
        }
    }
    let _ = write!(out, "y          ({}) = {}", t.y.len(), vector(&t.y));
    if let Some(c) = &class {
        let _ = write!(out, " (class {c:?})");
    }
    if model.target_scaling.is_some() {
        out.push_str(" (standardized, as trained)");
    }
    out.push_str("\n\nforward: s_l = W_{l-1}^T v_{l-1} + b_{l-1}, v_l = σ(s_l)\n");
    for lt in &t.layers {
        let l = lt.l;
        let layer = &net.layers()[l - 1];
        let act = layer.activation();
        let w = layer.weights();
        let _ = writeln!(
            out,
            "  W_{} ({} x {}), row z is node z of layer {}:",
            l - 1,
            w.nrows(),
            w.ncols(),
            l - 1
        );
        for z in 0..w.nrows() {
            let row: Vec<f64> = (0..w.ncols()).map(|j| w[(z, j)]).collect();
            let _ = writeln!(out, "    {}", vector(&row));
        }
        let _ = writeln!(
            out,
            "  b_{} ({}) = {}",
            l - 1,
            layer.bias().len(),
            vector(layer.bias())
        );
        let _ = writeln!(out, "  s_{l} ({}) = {}", lt.s.len(), vector(&lt.s));
        let _ = writeln!(
            out,
            "  v_{l} = {}(s_{l}) ({}) = {}",
            act.name(),
            lt.v.len(),
            vector(&lt.v)
        );
    }
    let formula = match net.loss() {
        Loss::Squared => "L = 1/2 ||v_d - y||^2",
        Loss::CrossEntropy => "L = -sum_k y_k ln softmax(v_d)_k",
        _ => "L",
    };
    let _ = writeln!(out, "loss: {formula} = {}", num(t.loss));
    out.push_str("\nbackward: delta_l = dL/dv_l ⊙ σ'(s_l), dL/dW_{l-1} = v_{l-1} delta_l^T, dL/db_{l-1} = delta_l, dL/dv_{l-1} = W_{l-1} delta_l\n");
    for lt in t.layers.iter().rev() {
        let l = lt.l;
        let why = if l == d {
            match net.loss() {
                Loss::Squared => format!("v_{d} - y"),
                _ => format!("softmax(v_{d}) - y"),
            }
        } else {
            format!("W_{l} delta_{}", l + 1)
        };
        let _ = writeln!(
            out,
            "  dL/dv_{l} = {why} ({}) = {}",
            lt.dl_dv.len(),
            vector(&lt.dl_dv)
        );
        let _ = writeln!(
            out,
            "  delta_{l} = dL/dv_{l} ⊙ σ'(s_{l}) ({}) = {}",
            lt.delta.len(),
            vector(&lt.delta)
        );
        let g = &lt.dl_dw;
        let _ = writeln!(
            out,
            "  dL/dW_{} = v_{} delta_{l}^T ({} x {}), row z is node z of layer {}:",
            l - 1,
            l - 1,
            g.nrows(),
            g.ncols(),
            l - 1
        );
        for z in 0..g.nrows() {
            let row: Vec<f64> = (0..g.ncols()).map(|j| g[(z, j)]).collect();
            let _ = writeln!(out, "    {}", vector(&row));
        }
        let _ = writeln!(
            out,
            "  dL/db_{} = delta_{l} ({}) = {}",
            l - 1,
            lt.dl_db.len(),
            vector(&lt.dl_db)
        );
    }
    print(&out)
}
