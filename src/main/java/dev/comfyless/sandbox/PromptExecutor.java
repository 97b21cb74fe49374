package dev.comfyless.sandbox;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import io.vertx.core.Context;
import io.vertx.core.Timer;
import io.vertx.core.Vertx;

/**
 * ComfyUI's prompt worker: runs one prompt at a time, node by node, and emits what execution.py and main.py emit,
 * in their order and with their routing. Execution is a state machine driven on the simulator's event loop: a
 * sampler step waits on a Vert.x timer, file work waits on a worker thread, a hang parks the machine, a freeze holds
 * whatever would move it on, and nothing ever sleeps, so with a zero step time a prompt runs straight through.
 */
final class PromptExecutor {

    private final Vertx vertx;
    private final Context context;
    private final NodeRegistry registry;
    private final PromptQueue queue;
    private final HistoryStore history;
    private final WebSocketHub hub;
    private final NodeRuntime runtime;
    private final Faults faults;
    private final Observations observations;
    /** Holds timers, worker results and the next prompt's start while the server is frozen. */
    private final Freezer freezer;
    private final long stepNanos;
    /** Kills the server; called when a prompt starts while dieWhenNextPromptStarts is armed. */
    private final Runnable die;

    private PromptRun run;
    /** server.client_id: the session of the last prompt started, kept after it ends as ComfyUI keeps it. */
    private String clientId;
    /** server.last_node_id, for a reconnecting client; cleared when the prompt's execution ends. */
    private String lastNodeId;
    private boolean interruptRequested;
    private boolean parked;
    private Timer stepTimer;
    /** Set from any thread when the server dies or closes; a pending step timer then fires into nothing. */
    private volatile boolean stopped;

    PromptExecutor(Vertx vertx, Context context, NodeRegistry registry, PromptQueue queue, HistoryStore history,
                   WebSocketHub hub, NodeRuntime runtime, Faults faults, Observations observations,
                   Freezer freezer, Duration stepTime, Runnable die) {
        this.vertx = vertx;
        this.context = context;
        this.registry = registry;
        this.queue = queue;
        this.history = history;
        this.hub = hub;
        this.runtime = runtime;
        this.faults = faults;
        this.observations = observations;
        this.freezer = freezer;
        this.stepNanos = stepTime.toNanos();
        this.die = die;
    }

    String clientId() {
        return clientId;
    }

    String lastNodeId() {
        return lastNodeId;
    }

    /** Starts the next queued prompt unless one is running. */
    void kick() {
        if (run != null || stopped) {
            return;
        }
        QueueItem item = queue.startNext();
        if (item == null) {
            return;
        }
        if (faults.takeDieOnStart()) {
            die.run();
            return;
        }
        hub.send(null, StatusMessages.status(queue.remaining()));
        clientId = item.clientId();
        interruptRequested = false; // nodes.interrupt_processing(False) at the start of every execution
        run = new PromptRun(item, registry, faults.failuresSnapshot());
        pump();
    }

    /** POST /interrupt: global when promptId is null, else only if that prompt is the one running. */
    void interrupt(String promptId) {
        if (run == null || (promptId != null && !promptId.equals(run.promptId()))) {
            return;
        }
        interruptRequested = true;
        if (stepTimer != null) {
            stepTimer.cancel();
            stepTimer = null;
            run.stepDelayed = true;
            pump();
        } else if (parked) {
            parked = false;
            pump();
        }
    }

    /** hang(false): a parked prompt carries on. */
    void resumeIfReleased() {
        if (parked && !faults.hanging()) {
            parked = false;
            pump();
        }
    }

    /** The server died or closed: the running prompt never finishes and nothing more is sent. Any thread. */
    void stop() {
        stopped = true;
    }

    /**
     * Runs the machine until it waits for a timer or a release. A bug-shaped surprise (say, a node reached only
     * through an undeclared input, which validation never saw) fails the prompt instead of wedging the queue.
     */
    private void pump() {
        while (run != null && !stopped) {
            PromptRun r = run;
            try {
                if (!advance(r)) {
                    return;
                }
            } catch (RuntimeException e) {
                failed(r, new NodeFailure("Exception", String.valueOf(e)));
            }
        }
    }

    private boolean advance(PromptRun r) {
        switch (r.phase) {
            case START:
                addMessage(r, "execution_start", promptData(r), false);
                ObjectNode cached = PyJson.object();
                cached.putArray("nodes"); // the simulator caches nothing, so every node executes
                cached.put("prompt_id", r.promptId());
                addMessage(r, "execution_cached", cached, false);
                r.phase = PromptRun.Phase.NEXT_NODE;
                return true;
            case NEXT_NODE:
                return nextNode(r);
            case STEPS:
                return step(r);
            default:
                return evaluate(r);
        }
    }

    private boolean nextNode(PromptRun r) {
        if (holdForHang()) {
            return false;
        }
        if (r.list.isEmpty()) {
            addMessage(r, "execution_success", promptData(r), false);
            finish(r, true, false);
            return true;
        }
        String id = r.list.stage();
        r.startNode(id);
        sendSync("progress_state", r.progressState());
        if (clientId != null) {
            lastNodeId = id;
            ObjectNode executing = PyJson.object().put("node", id).put("display_node", id)
                    .put("prompt_id", r.promptId());
            hub.send(clientId, PyJson.message("executing", executing));
        }
        if (interruptRequested) { // nodes.before_node_execution()
            interrupted(r);
            return true;
        }
        String failure = r.failures.get(r.classType(id));
        if (failure != null) {
            failed(r, new NodeFailure("RuntimeError", failure));
            return true;
        }
        r.steps = runtime.steps(r.call(id));
        r.step = 0;
        r.phase = r.steps > 0 ? PromptRun.Phase.STEPS : PromptRun.Phase.EVALUATE;
        return true;
    }

    /** One sampler step: wait the step time, then the progress hook (interrupt check, progress_state, progress). */
    private boolean step(PromptRun r) {
        if (r.step == r.steps) {
            r.phase = PromptRun.Phase.EVALUATE;
            return true;
        }
        if (!r.stepDelayed) {
            if (holdForHang()) {
                return false;
            }
            if (stepNanos > 0) {
                waitForStep(r);
                return false;
            }
        }
        r.stepDelayed = false;
        if (interruptRequested) {
            interrupted(r);
            return true;
        }
        r.step++;
        r.stepDone();
        sendSync("progress_state", r.progressState());
        ObjectNode progress = PyJson.object().put("value", r.step).put("max", r.steps).put("prompt_id", r.promptId())
                .put("node", r.node);
        sendSync("progress", progress);
        return true;
    }

    private void waitForStep(PromptRun r) {
        Timer timer = vertx.timer(stepNanos, TimeUnit.NANOSECONDS);
        stepTimer = timer;
        timer.onSuccess(freezer.guard(done -> {
            if (stepTimer == timer) {
                stepTimer = null;
                r.stepDelayed = true;
                pump();
            }
        }));
    }

    /**
     * Runs the node. A node that would block the event loop (decoding a file, encoding a big image) runs on a
     * worker thread, in order with the context's other file work; the machine waits for it as ComfyUI's worker
     * waits for a node, and an interrupt meanwhile takes effect at the next node.
     */
    private boolean evaluate(PromptRun r) {
        NodeRuntime.Call call = r.call(r.node);
        if (!runtime.blocks(call)) {
            try {
                nodeDone(r, runtime.evaluate(call));
            } catch (NodeFailure failure) {
                failed(r, failure);
            }
            return true;
        }
        context.executeBlocking(() -> runtime.evaluate(call), true).onComplete(freezer.guard(done -> {
            if (stopped || run != r) {
                return;
            }
            if (done.succeeded()) {
                nodeDone(r, done.result());
            } else {
                failed(r, done.cause() instanceof NodeFailure f ? f
                        : new NodeFailure("Exception", String.valueOf(done.cause())));
            }
            pump();
        }));
        return false;
    }

    private void nodeDone(PromptRun r, NodeRuntime.Result result) {
        String id = r.node;
        r.outputs.put(id, result.outputs());
        if (result.ui() != null) {
            r.addUi(id, result.ui());
            if (clientId != null) {
                ObjectNode executed = PyJson.object().put("node", id).put("display_node", id);
                executed.set("output", result.ui());
                executed.put("prompt_id", r.promptId());
                hub.send(clientId, PyJson.message("executed", executed));
            }
        }
        r.finishNode();
        sendSync("progress_state", r.progressState());
        r.executed.add(id);
        r.list.complete(id);
        r.phase = PromptRun.Phase.NEXT_NODE;
    }

    private boolean holdForHang() {
        if (faults.hanging() && !interruptRequested) {
            parked = true;
            return true;
        }
        return false;
    }

    private void interrupted(PromptRun r) {
        addMessage(r, "execution_interrupted", nodeData(r), true);
        finish(r, false, true);
    }

    private void failed(PromptRun r, NodeFailure failure) {
        ObjectNode data = nodeData(r);
        data.put("exception_message", failure.exceptionMessage());
        data.put("exception_type", failure.pythonType());
        ArrayNode traceback = data.putArray("traceback").add("  File \"/ComfyUI/execution.py\", line 496, in execute\n"
                + "    output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, "
                + "unique_id, obj, input_data_all)\n");
        if (r.node != null) {
            traceback.add("  File \"/ComfyUI/nodes.py\", line 1, in " + registry.find(r.classType(r.node)).function()
                    + "\n");
        }
        data.set("current_inputs", r.node == null ? PyJson.object() : runtime.currentInputs(r.call(r.node)));
        ArrayNode currentOutputs = data.putArray("current_outputs"); // the cache's node ids: every node of the prompt
        r.item.prompt().fieldNames().forEachRemaining(currentOutputs::add);
        addMessage(r, "execution_error", data, false);
        finish(r, false, false);
    }

    /** task_done, then the completion signal: history stored, status broadcast, executing with node null. */
    private void finish(PromptRun r, boolean success, boolean interrupted) {
        lastNodeId = null;
        queue.finishRunning();
        history.store(r.promptId(), r.historyEntry(success));
        observations.finished(r.promptId(), interrupted, System.nanoTime());
        hub.send(null, StatusMessages.status(queue.remaining()));
        if (clientId != null) {
            ObjectNode done = PyJson.object().putNull("node").put("prompt_id", r.promptId());
            hub.send(clientId, PyJson.message("executing", done));
        }
        run = null;
        context.runOnContext(next -> freezer.run(this::kick)); // a new task, so queued HTTP requests get their turn between prompts
    }

    /**
     * add_message: recorded for the history entry, and sent to the prompt's client, or to everyone when it has none
     * and the message is a broadcast one.
     */
    private void addMessage(PromptRun r, String event, ObjectNode data, boolean broadcast) {
        r.record(event, data);
        if (clientId != null || broadcast) {
            hub.send(clientId, PyJson.message(event, data));
        }
    }

    /** send_sync with the prompt's client: to everyone when the prompt has no client_id. */
    private void sendSync(String event, ObjectNode data) {
        hub.send(clientId, PyJson.message(event, data));
    }

    private static ObjectNode promptData(PromptRun r) {
        return PyJson.object().put("prompt_id", r.promptId());
    }

    /** The fields execution_error and execution_interrupted share. */
    private ObjectNode nodeData(PromptRun r) {
        ObjectNode data = PyJson.object().put("prompt_id", r.promptId()).put("node_id", r.node)
                .put("node_type", r.node == null ? null : r.classType(r.node));
        ArrayNode executed = data.putArray("executed");
        r.executed.forEach(executed::add);
        return data;
    }
}
