# The receiver image (the stream processors are Lambda functions: infra/cdk/processors.ts).
# Stage 1 bundles producers/receiver/main.ts with esbuild into one self-contained ES module
# (infra/lambda/bundle.ts, the same bundler as the Lambda functions); stage 2 is node + that file.
# Node 22 LTS (Node 20 left LTS support on 2026-04-30).
#
# The target platform is pinned by the deployment (linux/arm64: infra/cdk/services.ts passes it to the
# image build and to the Fargate task). The build stage runs on the build host's own platform
# ($BUILDPLATFORM, BuildKit): its output is plain JavaScript, the same on any CPU. The runtime stage
# only copies files and sets metadata (no RUN), so building for arm64 on x86 (or the reverse) needs
# no emulation.
FROM --platform=$BUILDPLATFORM node:22-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Install scripts are not needed: esbuild runs from its platform package (@esbuild/linux-*).
RUN npm ci --no-audit --no-fund --include=dev --ignore-scripts
COPY tsconfig.json ./
COPY platform ./platform
COPY schemas ./schemas
COPY shared ./shared
COPY producers ./producers
COPY processors ./processors
COPY analysis ./analysis
COPY infra ./infra
RUN node --import tsx infra/lambda/build.ts receiver --out /src/dist
# The on-call file the console signs people in from (its people, roles, teams); CDK passes the stack's `oncallFile`.
ARG ONCALL_FILE=infra/local/oncall/demo.json
RUN cp "$ONCALL_FILE" /src/dist/receiver/oncall.json

FROM node:22-bookworm-slim
# HOST: the receiver listens on 127.0.0.1 unless told otherwise; in a container it must take the task's interface.
ENV NODE_ENV=production \
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true \
    HOST=0.0.0.0 \
    ONCALL_FILE=/app/oncall.json
WORKDIR /app
COPY --from=build /src/dist/receiver/ ./
USER node
EXPOSE 8080
CMD ["node", "index.mjs"]
