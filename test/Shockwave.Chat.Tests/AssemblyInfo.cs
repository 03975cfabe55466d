// The browser tests start Chromium and stop and restart servers; on a small machine they are steadier one at a time,
// and the handshake-rejection metric they read must not count another test's refusals.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
