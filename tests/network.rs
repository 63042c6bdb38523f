//! The network's public API refuses bad shapes with typed errors, never a panic.

use backprop::activations::Activation;
use backprop::linalg::Matrix;
use backprop::network::{Error, Layer, Loss, Network};

fn small() -> Network<f64> {
    Network::builder(3)
        .layer(4, Activation::Tanh)
        .layer(2, Activation::Identity)
        .build()
        .unwrap()
}

#[test]
fn zero_widths_and_empty_networks_are_errors() {
    assert_eq!(
        Network::builder(0)
            .layer(2, Activation::Relu)
            .build::<f64>(),
        Err(Error::ZeroWidth { layer: 0 })
    );
    assert_eq!(
        Network::builder(2)
            .layer(3, Activation::Relu)
            .layer(0, Activation::Relu)
            .build::<f64>(),
        Err(Error::ZeroWidth { layer: 2 })
    );
    assert_eq!(Network::builder(2).build::<f64>(), Err(Error::NoLayers));
    assert_eq!(
        Network::<f64>::new(vec![], Loss::Squared),
        Err(Error::NoLayers)
    );
}

#[test]
fn layers_that_do_not_chain_are_errors() {
    let a = Layer::zeros(3, 4, Activation::Tanh).unwrap();
    let b = Layer::zeros(5, 2, Activation::Identity).unwrap();
    assert_eq!(
        Network::<f64>::new(vec![a, b], Loss::Squared),
        Err(Error::WeightShape {
            layer: 1,
            rows: 4,
            cols: 2,
            got_rows: 5,
            got_cols: 2
        })
    );
    assert!(matches!(
        Layer::new(Matrix::<f64>::zeros(3, 2), vec![0.0; 3], Activation::Relu),
        Err(Error::Length {
            what: "bias",
            expected: 2,
            got: 3
        })
    ));
}

#[test]
fn wrong_lengths_are_errors() {
    let mut net = small();
    let mut ws = net.workspace();
    let mut grads = net.gradients();
    assert!(matches!(
        net.forward(&mut ws, &[1.0, 2.0]),
        Err(Error::Length {
            expected: 3,
            got: 2,
            ..
        })
    ));
    assert_eq!(
        net.backward(&mut ws, &[0.0, 0.0], &mut grads),
        Err(Error::NoForwardPass)
    );
    net.forward(&mut ws, &[1.0, 2.0, 3.0]).unwrap();
    assert!(matches!(
        net.backward(&mut ws, &[0.0], &mut grads),
        Err(Error::Length {
            expected: 2,
            got: 1,
            ..
        })
    ));
    assert!(matches!(
        net.sgd_step(&mut ws, &[1.0, 2.0, 3.0], &[0.0, 0.0, 0.0], 0.1),
        Err(Error::Length {
            expected: 2,
            got: 3,
            ..
        })
    ));
    let mut out = [0.0; 3];
    assert!(net.predict_to(&mut ws, &[1.0, 2.0, 3.0], &mut out).is_err());
}

#[test]
fn buffers_of_another_network_are_errors() {
    let net = small();
    let other = Network::builder(3)
        .layer(5, Activation::Tanh)
        .layer(2, Activation::Identity)
        .build::<f64>()
        .unwrap();
    let mut ws = other.workspace();
    assert!(matches!(
        net.forward(&mut ws, &[1.0, 2.0, 3.0]),
        Err(Error::BufferMismatch {
            what: "workspace",
            ..
        })
    ));
    let mut ws = net.workspace();
    net.forward(&mut ws, &[1.0, 2.0, 3.0]).unwrap();
    let mut grads = other.gradients();
    assert!(matches!(
        net.backward(&mut ws, &[0.0, 0.0], &mut grads),
        Err(Error::BufferMismatch {
            what: "gradients",
            ..
        })
    ));
}

#[test]
fn batch_sizes_outside_the_workspace_are_errors() {
    let net = small();
    assert!(matches!(
        net.batch_workspace(0),
        Err(Error::BatchSize { .. })
    ));
    let mut ws = net.batch_workspace(4).unwrap();
    let mut grads = net.gradients();
    assert!(matches!(
        net.forward_batch(&mut ws, 5),
        Err(Error::BatchSize {
            capacity: 4,
            got: 5
        })
    ));
    assert!(matches!(
        net.forward_batch(&mut ws, 0),
        Err(Error::BatchSize { .. })
    ));
    assert!(matches!(
        ws.load(4, &[0.0; 3], &[0.0; 2]),
        Err(Error::BatchSize { .. })
    ));
    assert!(matches!(
        ws.load(0, &[0.0; 2], &[0.0; 2]),
        Err(Error::Length { .. })
    ));
    assert_eq!(
        net.backward_batch(&mut ws, 2, &mut grads),
        Err(Error::NoForwardPass)
    );
    net.forward_batch(&mut ws, 2).unwrap();
    assert_eq!(
        net.backward_batch(&mut ws, 3, &mut grads),
        Err(Error::NoForwardPass)
    );
    assert!(net.backward_batch(&mut ws, 2, &mut grads).is_ok());
}

#[test]
fn cross_entropy_predictions_are_probabilities() {
    let mut net = small();
    net.set_loss(Loss::CrossEntropy);
    for (k, p) in net.params_mut().flatten().enumerate() {
        *p = (k as f64 * 0.37).sin();
    }
    let mut ws = net.workspace();
    let mut p = [0.0; 2];
    net.predict_to(&mut ws, &[0.5, -1.0, 2.0], &mut p).unwrap();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-12);
    assert!(p.iter().all(|&p| p > 0.0 && p < 1.0));
}

#[test]
fn f32_networks_agree_with_f64() {
    let mut net = small();
    for (k, p) in net.params_mut().flatten().enumerate() {
        *p = (k as f64 * 0.71).cos() / 2.0;
    }
    let net32 = net.cast::<f32>();
    let (mut ws, mut ws32) = (net.workspace(), net32.workspace());
    let out = net.forward(&mut ws, &[0.1, 0.2, 0.3]).unwrap().to_vec();
    let out32 = net32.forward(&mut ws32, &[0.1, 0.2, 0.3]).unwrap();
    for (a, b) in out.iter().zip(out32) {
        assert!((a - f64::from(*b)).abs() < 1e-5);
    }
}

#[test]
fn batch_buffers_of_another_network_are_errors_before_anything_is_copied() {
    let net = small();
    // Another input width and another output width: copying a sample into them would not fit.
    for widths in [[5, 4, 2], [3, 4, 3]] {
        let other = Network::builder(widths[0])
            .layer(widths[1], Activation::Tanh)
            .layer(widths[2], Activation::Identity)
            .build::<f64>()
            .unwrap();
        let mut ws = other.batch_workspace(4).unwrap();
        let x = Matrix::from_element(3, 2, 0.5);
        let y = Matrix::from_element(2, 2, 0.0);
        let mut grads = net.gradients();
        assert!(matches!(
            net.gradient_batch(&mut ws, &x.as_view(), &y.as_view(), &mut grads),
            Err(Error::BufferMismatch {
                what: "batch workspace",
                ..
            })
        ));
    }
    let mut ws = net.batch_workspace(4).unwrap();
    let (x, y) = (Matrix::zeros(3, 0), Matrix::zeros(2, 0));
    let mut grads = net.gradients();
    assert!(matches!(
        net.gradient_batch(&mut ws, &x.as_view(), &y.as_view(), &mut grads),
        Err(Error::BatchSize { got: 0, .. })
    ));
}

#[test]
fn buffers_made_for_no_network_are_errors() {
    use backprop::network::{BatchWorkspace, BlockWorkspace, Gradients, Workspace};
    assert_eq!(
        BatchWorkspace::<f64>::new(&[], 4).err(),
        Some(Error::NoLayers)
    );
    assert_eq!(
        BatchWorkspace::<f64>::new(&[3, 0, 2], 4).err(),
        Some(Error::ZeroWidth { layer: 1 })
    );
    assert_eq!(
        BlockWorkspace::<f64>::new(&[3], 4).err(),
        Some(Error::NoLayers)
    );
    assert!(Workspace::<f64>::new(&[]).output().is_empty());
    let mut a = Gradients::<f64>::new(&[3, 4, 2]);
    let b = Gradients::<f64>::new(&[3, 5, 2]);
    assert!(matches!(
        a.add_scaled(1.0, &b),
        Err(Error::BufferMismatch { .. })
    ));
}
