# ComfyLess: multi-stage build (Maven -> JRE 17), non-root, routes/ and config/ beside the jar.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -q dependency:go-offline
COPY src/ src/
COPY routes/ routes/
COPY config/ config/
RUN mvn -B -q -DskipTests package

FROM eclipse-temurin:17-jre
# curl for the HEALTHCHECK; libssl3 is already there for the embedded redis-server
RUN apt-get update && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin comfyless
WORKDIR /app
COPY --from=build /src/target/comfyless.jar comfyless.jar
COPY routes/ routes/
COPY config/ config/
RUN mkdir -p /app/data && chown comfyless /app/data
USER comfyless
ENV COMFYLESS_DATA_DIR=/app/data
VOLUME ["/app/data"]
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=40s --retries=3 \
    CMD curl -fsS "http://127.0.0.1:${PORT:-8080}/health" || exit 1
# the working directory is /app, so config/ and routes/ resolve as in the repository
# exec form: java is PID 1 and gets SIGTERM from docker stop (graceful stop, exit 0)
STOPSIGNAL SIGTERM
ENTRYPOINT ["java", "-XX:MaxRAMPercentage=75", "-jar", "comfyless.jar"]
