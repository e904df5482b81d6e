# Fails when a file breaks the dependency direction of ARCHITECTURE.md:
# - a Qt include in the core;
# - torch (torch/, ATen/, c10/) or a core internal header reaching core/api, widgets/ or app/
#   (app/cli included) through ANY chain of the repository's own quoted includes; the failure
#   names the chain, e.g. `app/cli/x.cpp -> core/api/y.h -> core/llm/z.h -> <torch/torch.h>`;
# - a file that includes both torch and qcustomplot.h;
# - torch's archives in the core (torch::save / torch::load, torch::jit, serialize::Output/InputArchive):
#   checkpoints are safetensors (core/runtime/state_file.h).
# Run as `cmake -DROOT=<source dir> -P layering.cmake`.
set(problems "")
file(GLOB_RECURSE core_files ${ROOT}/core/*.h ${ROOT}/core/*.cpp)
foreach(f IN LISTS core_files)
    file(STRINGS ${f} hits REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]Q")
    if(hits)
        list(APPEND problems "${f}: Qt include in core: ${hits}")
    endif()
    file(STRINGS ${f} archive REGEX "torch::(save|load)[ \t]*\\(|torch::jit|serialize::(Output|Input)Archive")
    if(archive)
        list(APPEND problems "${f}: torch archive in core (use StateWriter / StateReader): ${archive}")
    endif()
endforeach()

# Core areas that only the core may include (core/api and the torch-free core/util are open).
set(core_internal "core/(data|sasrec|llm|rules|train|pipeline|runtime|store|tokenizer|tools|dist|pch)/")

# layering_chain(<file> <out>): sets <out> to "" when nothing forbidden is reachable from <file>,
# else to the rest of the first chain found (" -> core/api/y.h -> <torch/types.h>"). Quoted
# includes resolve against the including file's folder, then ROOT; those found in neither
# (generated or third-party headers) are not followed. Results are memoised per file; a file on
# the current path counts as clean, which ends include cycles.
function(layering_chain file out)
    get_property(known GLOBAL PROPERTY "layering:${file}" SET)
    if(known)
        get_property(result GLOBAL PROPERTY "layering:${file}")
        set(${out} "${result}" PARENT_SCOPE)
        return()
    endif()
    set_property(GLOBAL PROPERTY "layering:${file}" "")
    get_filename_component(dir ${file} DIRECTORY)
    file(STRINGS ${file} lines REGEX "^[ \t]*#[ \t]*include")
    set(result "")
    foreach(line IN LISTS lines)
        if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"]((torch|ATen|c10)/[^>\"]*)[>\"]")
            set(result " -> <${CMAKE_MATCH_1}>")
            break()
        endif()
        if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*[<\"](${core_internal}[^>\"]*)[>\"]")
            set(result " -> ${CMAKE_MATCH_1} (core internal)")
            break()
        endif()
        if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\"")
            continue()
        endif()
        set(inc "${CMAKE_MATCH_1}")
        if(EXISTS "${dir}/${inc}" AND NOT IS_DIRECTORY "${dir}/${inc}")
            get_filename_component(path "${dir}/${inc}" REALPATH)
        elseif(EXISTS "${ROOT}/${inc}" AND NOT IS_DIRECTORY "${ROOT}/${inc}")
            get_filename_component(path "${ROOT}/${inc}" REALPATH)
        else()
            continue()
        endif()
        layering_chain(${path} rest)
        if(rest)
            file(RELATIVE_PATH rel ${ROOT} ${path})
            set(result " -> ${rel}${rest}")
            break()
        endif()
    endforeach()
    set_property(GLOBAL PROPERTY "layering:${file}" "${result}")
    set(${out} "${result}" PARENT_SCOPE)
endfunction()

get_filename_component(ROOT ${ROOT} REALPATH)
file(GLOB_RECURSE gui_files ${ROOT}/core/api/*.h ${ROOT}/core/api/*.cpp ${ROOT}/widgets/*.h
    ${ROOT}/widgets/*.cpp ${ROOT}/app/*.h ${ROOT}/app/*.cpp)
foreach(f IN LISTS gui_files)
    layering_chain(${f} chain)
    if(chain)
        file(RELATIVE_PATH rel ${ROOT} ${f})
        list(APPEND problems "torch or a core internal outside the core: ${rel}${chain}")
    endif()
endforeach()

file(GLOB_RECURSE plot_files ${ROOT}/*.cpp ${ROOT}/*.h)
foreach(f IN LISTS plot_files)
    if(f MATCHES "/build")
        continue()
    endif()
    file(STRINGS ${f} qcp REGEX "#[ \t]*include[ \t]*[<\"]qcustomplot.h")
    file(STRINGS ${f} tch REGEX "#[ \t]*include[ \t]*[<\"](torch|ATen)/")
    if(qcp AND tch)
        list(APPEND problems "${f}: includes both torch and qcustomplot.h")
    endif()
endforeach()
if(problems)
    list(JOIN problems "\n" text)
    message(FATAL_ERROR "layering violations:\n${text}")
endif()
message(STATUS "layering: ok")
