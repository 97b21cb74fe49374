package dev.comfyless.comfyui;

import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/** Writes every callback down as one line, with the threads it came on. */
class RecordingEvents implements ComfyUiEvents {

    final List<String> calls = new CopyOnWriteArrayList<>();
    final Set<String> threads = ConcurrentHashMap.newKeySet();

    private void record(String call) {
        threads.add(Thread.currentThread().getName());
        calls.add(call);
    }

    long count(String prefix) {
        return calls.stream().filter(call -> call.startsWith(prefix)).count();
    }

    @Override
    public void connected() {
        record("connected");
    }

    @Override
    public void disconnected(Throwable cause) {
        record("disconnected " + (cause == null ? "" : cause.getClass().getSimpleName()));
    }

    @Override
    public void connectFailed(Throwable cause) {
        record("connect-failed");
    }

    @Override
    public void status(int queueRemaining) {
        record("status " + queueRemaining);
    }

    @Override
    public void executionStart(String promptId) {
        record("start " + promptId);
    }

    @Override
    public void executing(String promptId, String node) {
        record("executing " + promptId + " " + node);
    }

    @Override
    public void progress(String promptId, String node, int value, int max) {
        record("progress " + promptId + " " + node + " " + value + "/" + max);
    }

    @Override
    public void executed(String promptId, String node, String outputJson) {
        record("executed " + promptId + " " + node + " " + outputJson);
    }

    @Override
    public void executionSuccess(String promptId) {
        record("success " + promptId);
    }

    @Override
    public void executionError(String promptId, ExecutionError error) {
        record("error " + promptId + " " + error);
    }

    @Override
    public void executionInterrupted(String promptId, String node) {
        record("interrupted " + promptId + " " + node);
    }
}
