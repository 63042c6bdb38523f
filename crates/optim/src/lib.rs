//! SGD, random initialization and parallel restarts (in progress).
#![doc(test(attr(deny(warnings))))]
