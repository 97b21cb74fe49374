package dev.comfyless.sandbox;

/** A Python exception raised by a node while it runs; the executor reports it as execution_error. */
final class NodeFailure extends Exception {

    private final String pythonType;
    private final String tips;

    NodeFailure(String pythonType, String message) {
        this(pythonType, message, "");
    }

    NodeFailure(String pythonType, String message, String tips) {
        super(message, null, false, false);
        this.pythonType = pythonType;
        this.tips = tips;
    }

    /** The fully qualified Python class name, e.g. "RuntimeError" or "torch.OutOfMemoryError". */
    String pythonType() {
        return pythonType;
    }

    /** exception_message as execution.py formats it: "{ex}\n{tips}", so a plain error ends with a newline. */
    String exceptionMessage() {
        return getMessage() + "\n" + tips;
    }
}
