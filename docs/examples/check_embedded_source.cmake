# Fails unless MARKDOWN contains SOURCE's text inside a ```cpp block.
file(READ "${MARKDOWN}" markdown)
file(READ "${SOURCE}" source)
string(FIND "${markdown}" "```cpp\n${source}```" position)
if(position EQUAL -1)
  message(FATAL_ERROR "${MARKDOWN} does not show ${SOURCE} verbatim; paste the file into its ```cpp block")
endif()
