"""The session layer: the one place that assembles a session, live or offline.

- ``config``: ``PipelineConfig``, ``Layout`` (and ``layout_for``), ``SingleMicOptions``.
- ``pipeline``: the ``Pipeline`` protocol, ``ChannelPipeline`` and ``make_pipeline``.
- ``single_mic``: the one-microphone pipeline (speakers told apart by voice, live).
- ``result``: ``SessionResult`` and ``session_result``, the one place it is built.
- ``output``: session.json and turns.csv from a result.
- ``offline``: a file through the pipeline (``analyze``), by voice, transcribed.
- ``live``: a live session's work besides transport: journal, utterances → ASR, prosody,
  device changes, the result and where it is saved (the server only publishes).
- ``recover``, ``rescore``: a result again from the store's journal or a stored session.

It imports core, audio, speakers, asr, prosody and store; nothing below imports it.
"""
